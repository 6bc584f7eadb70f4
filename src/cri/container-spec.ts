// CreateContainer's decision, as a pure function: the request's ContainerConfig, its pod's
// PodSandboxConfig, the image's run config and facts gathered beforehand (container-facts.ts)
// become the OCI runtime spec, plus what the container's monitor needs that is not in the spec
// (stdio, log path, stop signal) and the anonymous volumes the caller must create.
import { invalid, unimplemented } from '../oci/errors.ts';
import type { ImageRunConfig } from '../oci/image-spec.ts';
import { OCI_VERSION, type Spec } from '../oci/runtime-spec.ts';
import { containerAnnotations } from './container-annotations.ts';
import { containerCapabilities } from './container-capabilities.ts';
import { containerDevices } from './container-devices.ts';
import type { ContainerFacts } from './container-facts.ts';
import { containerMounts } from './container-mounts.ts';
import { containerNamespaces, ownsIpc } from './container-namespaces.ts';
import { hostPath, relativePath } from './container-paths.ts';
import { processArgs, processCwd, processEnv } from './container-process.ts';
import { containerCgroupsPath, containerResources } from './container-resources.ts';
import { containerUser } from './container-user.ts';
import type { ContainerConfig, PodSandboxConfig } from './cri-types.ts';
import { imageVolumes, type ImageVolume } from './image-volumes.ts';
import { maskedAndReadonlyPaths } from './masked-paths.ts';
import { checkName, checkStringMap } from './request-limits.ts';
import { checkAppArmor, checkSelinux, seccompChoice, seccompProfile } from './security-profile.ts';
import { stopSignal } from './stop-signal.ts';

const SC = 'config.linux.security_context';

export interface ContainerSpecPlan {
  spec: Spec;
  /** Host path of the CRI log file; undefined when the pod or container gives no log path (no log). */
  logPath?: string;
  tty: boolean;
  stdin: boolean;
  stdinOnce: boolean;
  /** The stop signal name; undefined means SIGTERM. */
  stopSignal?: string;
  /** Directories the caller creates (and fills from the image) before the container starts. */
  imageVolumes: ImageVolume[];
}

export function logPath(pod: PodSandboxConfig, config: ContainerConfig): string | undefined {
  const dir = pod.log_directory ?? '';
  const file = config.log_path ?? '';
  if (dir === '' || file === '') return undefined;
  const base = hostPath(dir, 'sandbox_config.log_directory').replace(/\/+$/, '');
  return `${base}/${relativePath(file, 'config.log_path')}`;
}

export function containerSpec(config: ContainerConfig, pod: PodSandboxConfig, image: ImageRunConfig | undefined, facts: ContainerFacts): ContainerSpecPlan {
  const img = image ?? {};
  if (!config.metadata) throw invalid('config.metadata: required', { field: 'config.metadata' });
  const name = checkName(config.metadata.name, 'config.metadata.name', 63);
  checkStringMap(config.labels, 'config.labels');
  checkStringMap(config.annotations, 'config.annotations');
  if ((config.CDI_devices ?? []).length > 0) throw unimplemented('config.CDI_devices: CDI devices are not supported by berthd yet', { field: 'config.CDI_devices' });

  const sc = config.linux?.security_context ?? null;
  const privileged = sc?.privileged === true;
  if (privileged && pod.linux?.security_context?.privileged !== true) {
    throw invalid(`${SC}.privileged: a privileged container needs a privileged pod (sandbox_config.linux.security_context.privileged)`, { field: `${SC}.privileged` });
  }
  checkSelinux(sc?.selinux_options, SC);
  checkAppArmor(sc?.apparmor, sc?.apparmor_profile, SC);
  const choice = seccompChoice(sc?.seccomp, sc?.seccomp_profile_path, SC);
  // Privileged containers run without seccomp (the proto's rule 5), whatever was asked.
  const seccomp = privileged ? undefined : seccompProfile(choice, facts.seccomp, sc?.seccomp ? `${SC}.seccomp` : `${SC}.seccomp_profile_path`);

  const namespaces = containerNamespaces(sc?.namespace_options, {
    pod: facts.pod.namespaces,
    ...(facts.target ? { target: facts.target } : {}),
    cgroupNamespace: facts.host.cgroupV2 && !privileged,
  });
  const user = containerUser(sc, { imageUser: img.User, etcPasswd: facts.etcPasswd, etcGroup: facts.etcGroup });
  const volumes = imageVolumes(img, config.mounts ?? [], facts.imageVolumeDir);
  const readonlyRootfs = sc?.readonly_rootfs === true;
  const { mounts, rootfsPropagation } = containerMounts({
    mounts: config.mounts ?? [],
    hostPaths: facts.hostPaths,
    podFiles: facts.pod.files,
    readonlyRootfs,
    privileged,
    ownIpc: ownsIpc(namespaces),
    recursiveReadOnly: facts.host.recursiveReadOnly,
    imageVolumes: volumes,
  });
  const { devices, rules } = containerDevices(config.devices ?? [], facts.devices, privileged, facts.hostDevices);
  const { resources, oomScoreAdj } = containerResources(config.linux?.resources, facts.host);
  const paths = maskedAndReadonlyPaths(sc?.masked_paths, sc?.readonly_paths, privileged);

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: config.tty === true,
      user,
      args: processArgs(config, img),
      env: processEnv(config, img, pod.hostname || facts.pod.nodeHostname),
      cwd: processCwd(config, img),
      capabilities: containerCapabilities(sc?.capabilities, privileged),
      noNewPrivileges: sc?.no_new_privs === true,
      ...(oomScoreAdj !== undefined ? { oomScoreAdj } : {}),
    },
    root: { path: facts.rootfs, readonly: readonlyRootfs },
    mounts,
    annotations: containerAnnotations(facts.sandboxId, name, config.image?.user_specified_image || facts.imageName, pod),
    linux: {
      namespaces,
      devices,
      cgroupsPath: containerCgroupsPath(facts.pod.cgroupParent, facts.containerId),
      resources: { devices: rules, ...resources },
      maskedPaths: paths.maskedPaths,
      readonlyPaths: paths.readonlyPaths,
      ...(seccomp ? { seccomp } : {}),
      ...(rootfsPropagation ? { rootfsPropagation } : {}),
    },
  };
  const plan: ContainerSpecPlan = {
    spec,
    tty: config.tty === true,
    stdin: config.stdin === true,
    stdinOnce: config.stdin_once === true,
    imageVolumes: volumes,
  };
  const log = logPath(pod, config);
  if (log !== undefined) plan.logPath = log;
  const signal = stopSignal(config.stop_signal, img.StopSignal);
  if (signal !== undefined) plan.stopSignal = signal;
  return plan;
}
