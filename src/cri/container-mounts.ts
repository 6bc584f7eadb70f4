// The container's mounts, as containerd's CRI plugin lays them out: the default mounts (/proc,
// /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys, /sys/fs/cgroup), less those a bind replaces (and
// everything under /dev when /dev itself is bound); then the binds sorted by depth (stable),
// parents first: the request's mounts, the pod's /etc/hostname, /etc/hosts, /etc/resolv.conf and
// /dev/shm unless the request mounts the same destination, and the image's anonymous volumes.
//
// Each bind is `rbind` plus its propagation (rprivate / rslave / rshared) and ro, rro or rw.
// rslave needs its source on a shared or slave host mount, rshared on a shared one; either
// makes the rootfs propagation follow (containerd). `selinux_relabel` is ignored: the host runs
// no SELinux, so there is no label to apply.
import { invalid, precondition, unimplemented, BerthError } from '../oci/errors.ts';
import type { Mount } from '../oci/runtime-spec.ts';
import { defaultSpec } from '../runtime/default-spec.ts';
import type { HostPathFact, PodFiles } from './container-facts.ts';
import { containerPath, hostPath, pathDepth } from './container-paths.ts';
import type { Mount as CriMount } from './cri-types.ts';

export interface BindRequest {
  destination: string;
  source: string;
  propagation: 'rprivate' | 'rslave' | 'rshared';
  mode: 'ro' | 'rro' | 'rw';
}

export interface MountInputs {
  mounts: CriMount[];
  hostPaths: Record<string, HostPathFact>;
  podFiles: PodFiles;
  readonlyRootfs: boolean;
  privileged: boolean;
  /** The container has an IPC namespace of its own: it keeps the default /dev/shm. */
  ownIpc: boolean;
  recursiveReadOnly: boolean;
  /** Anonymous volumes for the image's Volumes (src/cri/image-volumes.ts). */
  imageVolumes: Array<{ containerPath: string; hostPath: string }>;
}

export interface ContainerMounts {
  mounts: Mount[];
  rootfsPropagation?: 'rslave' | 'rshared';
}

function propagationOf(m: CriMount, fact: HostPathFact, field: string): BindRequest['propagation'] {
  const p = m.propagation ?? 'PROPAGATION_PRIVATE';
  switch (p) {
    case 'PROPAGATION_PRIVATE':
      return 'rprivate';
    case 'PROPAGATION_HOST_TO_CONTAINER':
      if (fact.mountPropagation === 'private') {
        throw precondition(`${field}: host path ${JSON.stringify(m.host_path)} is on a private mount; HostToContainer propagation needs a shared or slave mount`, { field, path: fact.resolved });
      }
      return 'rslave';
    case 'PROPAGATION_BIDIRECTIONAL':
      if (fact.mountPropagation !== 'shared') {
        throw precondition(`${field}: host path ${JSON.stringify(m.host_path)} is not on a shared mount; Bidirectional propagation needs one`, { field, path: fact.resolved });
      }
      return 'rshared';
    default:
      throw invalid(`${field}.propagation: unknown propagation ${JSON.stringify(p)}`, { field: `${field}.propagation` });
  }
}

function modeOf(m: CriMount, propagation: BindRequest['propagation'], recursiveReadOnly: boolean, field: string): BindRequest['mode'] {
  if (!m.recursive_read_only) return m.readonly ? 'ro' : 'rw';
  if (!m.readonly) throw invalid(`${field}.recursive_read_only: a recursive read-only mount must also be readonly`, { field: `${field}.recursive_read_only` });
  if (propagation !== 'rprivate') throw invalid(`${field}.recursive_read_only: a recursive read-only mount needs private propagation`, { field: `${field}.recursive_read_only` });
  if (!recursiveReadOnly) throw unimplemented(`${field}.recursive_read_only: the runtime handler does not support recursive read-only mounts`, { field: `${field}.recursive_read_only` });
  return 'rro';
}

function requestBind(m: CriMount, i: number, inputs: MountInputs): BindRequest {
  const field = `config.mounts[${i}]`;
  const destination = containerPath(m.container_path, `${field}.container_path`);
  if (destination === '/') throw invalid(`${field}.container_path: cannot mount over the container's root`, { field: `${field}.container_path` });
  if (m.image?.image) throw unimplemented(`${field}.image: image volume mounts are not supported by berthd yet`, { field: `${field}.image` });
  if ((m.uidMappings ?? []).length > 0 || (m.gidMappings ?? []).length > 0) {
    throw unimplemented(`${field}: id-mapped mounts need user namespaces, which berthd does not support yet`, { field: `${field}.uidMappings` });
  }
  const source = hostPath(m.host_path, `${field}.host_path`);
  const fact = inputs.hostPaths[source];
  if (!fact) throw new BerthError('internal', `${field}.host_path: ${source} was not resolved on the host before the spec was made`, { field: `${field}.host_path`, path: source });
  const propagation = propagationOf(m, fact, field);
  return { destination, source: fact.resolved, propagation, mode: modeOf(m, propagation, inputs.recursiveReadOnly, field) };
}

function podBinds(inputs: MountInputs, taken: Set<string>): BindRequest[] {
  const files = inputs.podFiles;
  const mode = inputs.readonlyRootfs ? 'ro' : 'rw';
  const wanted: Array<[string, string | undefined, BindRequest['mode']]> = [
    ['/etc/hostname', files.hostname, mode],
    ['/etc/hosts', files.hosts, mode],
    ['/etc/resolv.conf', files.resolvConf, mode],
    ['/dev/shm', inputs.ownIpc ? undefined : files.shm, 'rw'],
  ];
  return wanted
    .filter(([dest, src]) => src !== undefined && !taken.has(dest))
    .map(([destination, source, m]) => ({ destination, source: source!, propagation: 'rprivate', mode: m }));
}

function defaultMounts(privileged: boolean): Mount[] {
  const mounts = defaultSpec().mounts ?? [];
  if (!privileged) return mounts;
  // Privileged: sysfs and the cgroup filesystem are writable (containerd's WithPrivileged).
  return mounts.map((m) => (m.type === 'sysfs' || m.type === 'cgroup' ? { ...m, options: (m.options ?? []).map((o) => (o === 'ro' ? 'rw' : o)) } : m));
}

export function containerMounts(inputs: MountInputs): ContainerMounts {
  const binds = inputs.mounts.map((m, i) => requestBind(m, i, inputs));
  const seen = new Map<string, number>();
  binds.forEach((b, i) => {
    const first = seen.get(b.destination);
    if (first !== undefined) throw invalid(`config.mounts[${i}].container_path: ${b.destination} is also the destination of config.mounts[${first}]`, { field: `config.mounts[${i}].container_path` });
    seen.set(b.destination, i);
  });
  const taken = new Set(seen.keys());
  const extra = podBinds(inputs, taken);
  for (const v of inputs.imageVolumes) {
    if (!taken.has(v.containerPath)) extra.push({ destination: v.containerPath, source: v.hostPath, propagation: 'rprivate', mode: 'rw' });
  }
  const all = [...binds, ...extra].map((b, i) => ({ b, i })).sort((x, y) => pathDepth(x.b.destination) - pathDepth(y.b.destination) || x.i - y.i).map((x) => x.b);
  const destinations = new Set(all.map((b) => b.destination));
  const devBound = destinations.has('/dev');
  const base = defaultMounts(inputs.privileged).filter((m) => !destinations.has(m.destination) && !(devBound && m.destination.startsWith('/dev/')));
  let rootfsPropagation: ContainerMounts['rootfsPropagation'];
  for (const b of all) {
    if (b.propagation === 'rshared') rootfsPropagation = 'rshared';
    else if (b.propagation === 'rslave' && rootfsPropagation !== 'rshared') rootfsPropagation = 'rslave';
  }
  const mounts: Mount[] = [...base, ...all.map((b) => ({ destination: b.destination, type: 'bind', source: b.source, options: ['rbind', b.propagation, b.mode] }))];
  return rootfsPropagation ? { mounts, rootfsPropagation } : { mounts };
}
