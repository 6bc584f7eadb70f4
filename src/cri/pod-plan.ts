// RunPodSandbox's decision, as a pure function: what a pod is made of, from its PodSandboxConfig
// and a few host facts. A pod is pinned network, IPC and UTS namespaces (or the host's, when
// the security context asks), a cgroup parent, its /etc files and a /dev/shm; an infra process
// only when it shares one PID namespace among its containers (NamespaceMode POD).
import { isIP } from 'node:net';
import { BerthError, invalid, unimplemented } from '../oci/errors.ts';
import type { NamespaceType } from '../oci/runtime-spec.ts';
import { planSysctls, type SysctlWrite } from '../runtime/sysctl.ts';
import { containerPath, hostPath } from './container-paths.ts';
import { requestedUser } from './container-user.ts';
import type { NamespaceMode, PodSandboxConfig, Protocol, UnknownEnum } from './cri-types.ts';
import { ID_RANGE, int64 } from './int64.ts';
import { checkHostname, hostnameFile, hostsFile, resolvConf } from './pod-files.ts';
import { checkName, checkStringMap } from './request-limits.ts';
import { checkAppArmor, checkSelinux, seccompChoice, type SeccompChoice } from './security-profile.ts';

const SC = 'config.linux.security_context';
/** The pod's /dev/shm, as docker, containerd and cri-o size it. */
export const POD_SHM_BYTES = 64 * 1024 * 1024;

export interface PodFacts {
  nodeHostname: string;
  /** The host's /etc/resolv.conf, used when the pod's DNS config is empty. */
  hostResolvConf: string;
  /** The host's /etc/hosts, used for host-network pods. */
  hostHosts: string;
  /** The cgroup parent for pods whose config has none (crictl). */
  defaultCgroupParent: string;
}

export interface HostPortMapping {
  protocol: Protocol;
  containerPort: number;
  hostPort: number;
  hostIP: string;
}

export interface PodPlan {
  metadata: { name: string; namespace: string; uid: string; attempt: number };
  hostname: string;
  namespaces: { network: 'host' | 'pinned'; ipc: 'host' | 'pinned'; uts: 'host' | 'pinned'; pid: 'host' | 'pod' | 'container' };
  /** Contents of the pod's files; hosts is rewritten with the pod's IPs after CNI (pod-files.ts). */
  files: { hostname: string; hosts: string; resolvConf: string };
  shm: 'host' | { sizeBytes: number };
  /** Written in the pod's pinned namespaces before any container starts. */
  sysctls: SysctlWrite[];
  cgroupParent: string;
  privileged: boolean;
  /** An infra process is PID 1 of the pod's shared PID namespace (pod-infra-spec.ts). */
  needsInfra: boolean;
  /** The pod's own seccomp choice, for its infra process. */
  seccomp: SeccompChoice;
  logDirectory?: string;
  /** Only mappings with a host port: what CNI's portMappings capability wants. */
  portMappings: HostPortMapping[];
}

function podMode(mode: NamespaceMode | UnknownEnum | undefined, key: string, allowContainer: boolean): 'host' | 'pod' | 'container' {
  const field = `${SC}.namespace_options.${key}`;
  switch (mode ?? 'POD') {
    case 'NODE':
      return 'host';
    case 'POD':
      return 'pod';
    case 'CONTAINER':
      if (allowContainer) return 'container';
      break;
  }
  throw invalid(`${field}: a pod's ${key} namespace is POD or NODE${allowContainer ? ' or CONTAINER' : ''}, not ${JSON.stringify(mode)}`, { field });
}

function cgroupParent(raw: string | undefined, fallback: string): string {
  const field = 'config.linux.cgroup_parent';
  const value = raw ?? '';
  if (value === '') return fallback;
  if (value.endsWith('.slice')) throw invalid(`${field}: ${JSON.stringify(value)} is a systemd slice; berthd uses the cgroupfs driver (set the kubelet's cgroupDriver to cgroupfs)`, { field });
  return containerPath(value, field);
}

function sysctls(map: Record<string, string>, own: NamespaceType[]): SysctlWrite[] {
  try {
    return planSysctls(map, own);
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    const field = (err.where.field ?? 'linux.sysctl').replace(/^linux\.sysctl/, 'config.linux.sysctls');
    throw invalid(err.message.replace(/^linux\.sysctl/, 'config.linux.sysctls'), { field });
  }
}

function portMappings(config: PodSandboxConfig): HostPortMapping[] {
  return (config.port_mappings ?? []).flatMap((p, i) => {
    const field = `config.port_mappings[${i}]`;
    const protocol = p.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') throw invalid(`${field}.protocol: unknown protocol ${JSON.stringify(protocol)}`, { field: `${field}.protocol` });
    const containerPort = p.container_port ?? 0;
    const hostPort = p.host_port ?? 0;
    if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) throw invalid(`${field}.container_port: ${containerPort} is not a port`, { field: `${field}.container_port` });
    if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535) throw invalid(`${field}.host_port: ${hostPort} is not a port`, { field: `${field}.host_port` });
    const hostIP = p.host_ip ?? '';
    if (hostIP !== '' && isIP(hostIP) === 0) throw invalid(`${field}.host_ip: ${JSON.stringify(hostIP)} is not an IP address`, { field: `${field}.host_ip` });
    return hostPort === 0 ? [] : [{ protocol, containerPort, hostPort, hostIP }];
  });
}

export function podPlan(config: PodSandboxConfig, facts: PodFacts): PodPlan {
  const md = config.metadata;
  if (!md) throw invalid('config.metadata: required', { field: 'config.metadata' });
  const metadata = {
    name: checkName(md.name, 'config.metadata.name'),
    namespace: checkName(md.namespace, 'config.metadata.namespace'),
    uid: checkName(md.uid, 'config.metadata.uid'),
    attempt: md.attempt ?? 0,
  };
  checkStringMap(config.labels, 'config.labels');
  checkStringMap(config.annotations, 'config.annotations');

  const sc = config.linux?.security_context ?? null;
  const ns = sc?.namespace_options ?? null;
  if (ns?.userns_options && (ns.userns_options.mode ?? 'POD') !== 'NODE') {
    throw unimplemented(`${SC}.namespace_options.userns_options: user namespaces are not supported by berthd yet`, { field: `${SC}.namespace_options.userns_options` });
  }
  const network = podMode(ns?.network, 'network', false) === 'host' ? 'host' : 'pinned';
  const ipc = podMode(ns?.ipc, 'ipc', false) === 'host' ? 'host' : 'pinned';
  // UTS follows the network: a host-network pod has the node's host name.
  const uts = network;
  const pid = podMode(ns?.pid, 'pid', true);
  checkSelinux(sc?.selinux_options, SC);
  checkAppArmor(sc?.apparmor, undefined, SC);
  const seccomp = seccompChoice(sc?.seccomp, sc?.seccomp_profile_path, SC);
  requestedUser(sc, SC);
  (sc?.supplemental_groups ?? []).forEach((g, i) => int64(g, `${SC}.supplemental_groups[${i}]`, ID_RANGE));

  const hostname = config.hostname
    ? checkHostname(config.hostname, 'config.hostname')
    : network === 'host'
      ? facts.nodeHostname
      : (() => {
          throw invalid('config.hostname: required unless the pod uses the host network', { field: 'config.hostname' });
        })();

  const own: NamespaceType[] = [...(network === 'pinned' ? (['network', 'uts'] as const) : []), ...(ipc === 'pinned' ? (['ipc'] as const) : [])];
  const plan: PodPlan = {
    metadata,
    hostname,
    namespaces: { network, ipc, uts, pid },
    files: {
      hostname: hostnameFile(hostname),
      hosts: hostsFile({ hostNetwork: network === 'host', hostHosts: facts.hostHosts, hostname }),
      resolvConf: resolvConf(config.dns_config, facts.hostResolvConf),
    },
    shm: ipc === 'host' ? 'host' : { sizeBytes: POD_SHM_BYTES },
    sysctls: sysctls(config.linux?.sysctls ?? {}, own),
    cgroupParent: cgroupParent(config.linux?.cgroup_parent, facts.defaultCgroupParent),
    privileged: sc?.privileged === true,
    needsInfra: pid === 'pod',
    seccomp,
    portMappings: portMappings(config),
  };
  if (config.log_directory) plan.logDirectory = hostPath(config.log_directory, 'config.log_directory');
  return plan;
}
