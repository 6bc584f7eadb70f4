// TypeScript shapes of the runtime.v1 messages that configure pods and containers, as
// src/cri/proto-load.ts delivers them: snake_case field names, int64/uint64 as decimal strings,
// enums as their names, absent scalars as their defaults, absent messages as null.
//
// Every field is optional here so that code and tests can write a request by hand; a decoded
// request has them all. An enum value this proto does not know arrives as its number
// (`UnknownEnum`) and the code that reads it refuses it.

/** int64/uint64: a decimal string when decoded (see proto-load.ts); grpc-js also encodes numbers. */
export type Int64 = string | number;
export type UnknownEnum = number;
export type StringMap = Record<string, string>;

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type MountPropagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
export type SupplementalGroupsPolicy = 'Merge' | 'Strict';
export type ProfileType = 'RuntimeDefault' | 'Unconfined' | 'Localhost';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
/** ContainerConfig.stop_signal: `RUNTIME_DEFAULT` or a signal name (`SIGRTMINPLUS1` = SIGRTMIN+1). */
export type CriSignal = string;

export interface Int64Value {
  value?: Int64;
}

export interface KeyValue {
  key?: string;
  value?: string;
}

export interface IDMapping {
  host_id?: number;
  container_id?: number;
  length?: number;
}

export interface UserNamespace {
  mode?: NamespaceMode | UnknownEnum;
  uids?: IDMapping[];
  gids?: IDMapping[];
}

export interface NamespaceOption {
  network?: NamespaceMode | UnknownEnum;
  pid?: NamespaceMode | UnknownEnum;
  ipc?: NamespaceMode | UnknownEnum;
  target_id?: string;
  userns_options?: UserNamespace | null;
}

export interface SELinuxOption {
  user?: string;
  role?: string;
  type?: string;
  level?: string;
}

export interface SecurityProfile {
  profile_type?: ProfileType | UnknownEnum;
  localhost_ref?: string;
}

export interface Capability {
  add_capabilities?: string[];
  drop_capabilities?: string[];
  add_ambient_capabilities?: string[];
}

export interface HugepageLimit {
  page_size?: string;
  limit?: Int64;
}

export interface LinuxContainerResources {
  cpu_period?: Int64;
  cpu_quota?: Int64;
  cpu_shares?: Int64;
  memory_limit_in_bytes?: Int64;
  oom_score_adj?: Int64;
  cpuset_cpus?: string;
  cpuset_mems?: string;
  hugepage_limits?: HugepageLimit[];
  unified?: StringMap;
  memory_swap_limit_in_bytes?: Int64;
}

export interface ImageSpec {
  image?: string;
  annotations?: StringMap;
  user_specified_image?: string;
  runtime_handler?: string;
  image_ref?: string;
}

// --- pods ---

export interface DNSConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface PortMapping {
  protocol?: Protocol | UnknownEnum;
  container_port?: number;
  host_port?: number;
  host_ip?: string;
}

export interface LinuxSandboxSecurityContext {
  namespace_options?: NamespaceOption | null;
  selinux_options?: SELinuxOption | null;
  run_as_user?: Int64Value | null;
  run_as_group?: Int64Value | null;
  readonly_rootfs?: boolean;
  supplemental_groups?: Int64[];
  supplemental_groups_policy?: SupplementalGroupsPolicy | UnknownEnum;
  privileged?: boolean;
  seccomp?: SecurityProfile | null;
  apparmor?: SecurityProfile | null;
  /** Deprecated: `runtime/default`, `unconfined`, `localhost/<path>`. */
  seccomp_profile_path?: string;
}

export interface LinuxPodSandboxConfig {
  cgroup_parent?: string;
  security_context?: LinuxSandboxSecurityContext | null;
  sysctls?: StringMap;
  overhead?: LinuxContainerResources | null;
  resources?: LinuxContainerResources | null;
}

export interface PodSandboxMetadata {
  name?: string;
  uid?: string;
  namespace?: string;
  attempt?: number;
}

export interface PodSandboxConfig {
  metadata?: PodSandboxMetadata | null;
  hostname?: string;
  log_directory?: string;
  dns_config?: DNSConfig | null;
  port_mappings?: PortMapping[];
  labels?: StringMap;
  annotations?: StringMap;
  linux?: LinuxPodSandboxConfig | null;
  /** Windows settings are not read on Linux. */
  windows?: unknown;
}

export interface RunPodSandboxRequest {
  config?: PodSandboxConfig | null;
  runtime_handler?: string;
}

export interface RunPodSandboxResponse {
  pod_sandbox_id: string;
}

// --- containers ---

export interface Mount {
  container_path?: string;
  host_path?: string;
  readonly?: boolean;
  selinux_relabel?: boolean;
  propagation?: MountPropagation | UnknownEnum;
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
  recursive_read_only?: boolean;
  image?: ImageSpec | null;
  image_sub_path?: string;
}

export interface Device {
  container_path?: string;
  host_path?: string;
  permissions?: string;
}

export interface CDIDevice {
  name?: string;
}

export interface LinuxContainerSecurityContext {
  capabilities?: Capability | null;
  privileged?: boolean;
  namespace_options?: NamespaceOption | null;
  selinux_options?: SELinuxOption | null;
  run_as_user?: Int64Value | null;
  run_as_group?: Int64Value | null;
  run_as_username?: string;
  readonly_rootfs?: boolean;
  supplemental_groups?: Int64[];
  supplemental_groups_policy?: SupplementalGroupsPolicy | UnknownEnum;
  no_new_privs?: boolean;
  masked_paths?: string[];
  readonly_paths?: string[];
  seccomp?: SecurityProfile | null;
  apparmor?: SecurityProfile | null;
  /** Deprecated: `runtime/default`, `unconfined`, `localhost/<name>`. */
  apparmor_profile?: string;
  /** Deprecated: `runtime/default`, `docker/default`, `unconfined`, `localhost/<path>`. */
  seccomp_profile_path?: string;
}

export interface LinuxContainerConfig {
  resources?: LinuxContainerResources | null;
  security_context?: LinuxContainerSecurityContext | null;
}

export interface ContainerMetadata {
  name?: string;
  attempt?: number;
}

export interface ContainerConfig {
  metadata?: ContainerMetadata | null;
  image?: ImageSpec | null;
  command?: string[];
  args?: string[];
  working_dir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  devices?: Device[];
  labels?: StringMap;
  annotations?: StringMap;
  log_path?: string;
  stdin?: boolean;
  stdin_once?: boolean;
  tty?: boolean;
  linux?: LinuxContainerConfig | null;
  /** Windows settings are not read on Linux. */
  windows?: unknown;
  CDI_devices?: CDIDevice[];
  stop_signal?: CriSignal | UnknownEnum;
}

export interface CreateContainerRequest {
  pod_sandbox_id?: string;
  config?: ContainerConfig | null;
  sandbox_config?: PodSandboxConfig | null;
}

export interface CreateContainerResponse {
  container_id: string;
}

/** ContainerStatus.user.linux: the identity the container's first process starts with. */
export interface LinuxContainerUser {
  uid: Int64;
  gid: Int64;
  supplemental_groups: Int64[];
}
