// A pod as berthd keeps it (one JSON record per pod under the root, and in memory) and its CRI
// views: PodSandbox for List, PodSandboxStatus for Status. Pure: the record holds everything the
// views need, so List and Status touch neither the disk nor the kernel.
import type { PodFiles, PodNamespace } from './container-facts.ts';
import type { PodSandboxConfig, StringMap } from './cri-types.ts';
import type { PodMetadata } from './name-reservation.ts';

export type PodState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

export interface PodNetwork {
  /** The CNI network the pod is attached to (its DEL runs from the result cache). */
  name: string;
  ifname: string;
  ips: string[];
}

export interface PodRecord {
  id: string;
  metadata: PodMetadata;
  /** The request's config, kept for CreateContainer (log directory, hostname, DNS, security context). */
  config: PodSandboxConfig;
  state: PodState;
  /** Nanoseconds since the epoch, as a decimal string (int64 on the wire). */
  createdAt: string;
  runtimeHandler: string;
  /** The pod's directory under berthd's state dir: pinned namespaces, files, shm. */
  dir: string;
  namespaces: { network: PodNamespace; ipc: PodNamespace; uts: PodNamespace; pid: 'host' | 'pod' | 'container' };
  files: PodFiles;
  /** The pod's own /dev/shm tmpfs, when it has one (mounted at files.shm). */
  shmMounted: boolean;
  cgroupParent: string;
  network?: PodNetwork;
  labels: StringMap;
  annotations: StringMap;
}

const MODE = { host: 'NODE', pod: 'POD', container: 'CONTAINER' } as const;
const nsMode = (ns: PodNamespace): 'NODE' | 'POD' => (ns === 'host' ? 'NODE' : 'POD');

export function podSandboxOf(pod: PodRecord): object {
  return {
    id: pod.id,
    metadata: pod.metadata,
    state: pod.state,
    created_at: pod.createdAt,
    labels: pod.labels,
    annotations: pod.annotations,
    runtime_handler: pod.runtimeHandler,
  };
}

export function podSandboxStatusOf(pod: PodRecord): object {
  const [ip = '', ...more] = pod.network?.ips ?? [];
  return {
    id: pod.id,
    metadata: pod.metadata,
    state: pod.state,
    created_at: pod.createdAt,
    network: { ip, additional_ips: more.map((i) => ({ ip: i })) },
    linux: { namespaces: { options: { network: nsMode(pod.namespaces.network), pid: MODE[pod.namespaces.pid], ipc: nsMode(pod.namespaces.ipc), target_id: '' } } },
    labels: pod.labels,
    annotations: pod.annotations,
    runtime_handler: pod.runtimeHandler,
  };
}

/** PodSandboxStatus's verbose `info`: what containerd's `info` key carries that berth has. */
export function podVerboseInfo(pod: PodRecord): Record<string, string> {
  return {
    info: JSON.stringify({
      pid: 0,
      runtimeHandler: pod.runtimeHandler,
      netNamespacePath: pod.namespaces.network === 'host' ? '' : pod.namespaces.network.path,
      namespaces: pod.namespaces,
      cgroupParent: pod.cgroupParent,
      files: pod.files,
      network: pod.network ?? null,
      config: pod.config,
    }),
  };
}

/** The pod's network namespace file (undefined for a host-network pod). */
export const podNetnsPath = (pod: PodRecord): string | undefined => (pod.namespaces.network === 'host' ? undefined : pod.namespaces.network.path);
