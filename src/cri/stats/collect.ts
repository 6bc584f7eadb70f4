// The I/O half of the stats RPCs: reads a container's (or pod's) cgroup, writable layer and
// network counters and hands them to the pure mapping in cri-stats.ts. Inputs are what berthd's
// records hold: the container id, linux.cgroupsPath from its config.json, its snapshot (keyed by
// the container id), and for a pod its cgroup parent and a pid in its network namespace.
import { BerthError } from '../../oci/errors.ts';
import { readCgroupSample, sampleDirsFor, unixNowNs, type CgroupHost, type CgroupSample } from '../../runtime/cgroups/index.ts';
import { containerStats, podSandboxStats, type PodContainer, type WritableLayerUsage } from './cri-stats.ts';
import { readNetDev } from './net-dev-reader.ts';
import type { SampleCache } from './sample-cache.ts';
import type { ContainerAttributes, PodSandboxAttributes, PodSandboxStats } from './stats-types.ts';
import type { InterfaceCounters } from './net-dev.ts';

/** What one daemon keeps for every stats call. */
export interface StatsSources {
  /** detectCgroupHost(), once at start: berthd's runtime resolved every cgroupsPath against it. */
  host: CgroupHost;
  cache: SampleCache;
  /** Disk use of writable layers: SnapshotUsage (the container's snapshot key is its id). */
  layers: { readonly dir: string; writableLayer(key: string): Promise<{ bytes: number; inodes: number }> };
  now?: () => bigint;
}

export interface ContainerSubject {
  attributes: ContainerAttributes;
  /** linux.cgroupsPath of its config.json (empty: the id, as the runtime took it). */
  cgroupsPath?: string;
  /** Only a running container has a cgroup to read. */
  running: boolean;
}

const gone = (err: unknown): boolean => err instanceof BerthError && err.kind === 'not-found';

async function sampleOf(src: StatsSources, cgroupsPath: string | undefined, id: string): Promise<CgroupSample | undefined> {
  try {
    return await readCgroupSample(sampleDirsFor(src.host, cgroupsPath, id), src.now ?? unixNowNs);
  } catch (err) {
    if (gone(err)) return undefined; // it stopped meanwhile: reported as not running
    throw err;
  }
}

async function layerOf(src: StatsSources, id: string, timestampNs: bigint): Promise<WritableLayerUsage> {
  let usage = { bytes: 0, inodes: 0 };
  try {
    usage = await src.layers.writableLayer(id);
  } catch (err) {
    if (!gone(err)) throw err; // no snapshot (removed meanwhile): zero, as containerd reports it
  }
  return { ...usage, timestampNs, mountpoint: src.layers.dir };
}

/** ContainerStats of one container, and its process count (for its pod's). */
export async function collectContainerStats(src: StatsSources, c: ContainerSubject): Promise<PodContainer> {
  const id = c.attributes.id;
  const sample = c.running ? await sampleOf(src, c.cgroupsPath, id) : undefined;
  const previous = sample ? src.cache.previous(id, sample) : undefined;
  const writableLayer = await layerOf(src, id, sample?.timestampNs ?? (src.now ?? unixNowNs)());
  return { stats: containerStats({ attributes: c.attributes, sample, previous, writableLayer }), pids: sample?.pids.current };
}

export interface PodSubject {
  attributes: PodSandboxAttributes;
  /** linux.cgroup_parent of the pod: the cgroup holding its containers'; none: no pod cpu/memory. */
  cgroupParent?: string;
  /** A process in the pod's network namespace (its infra process); none on the host network. */
  netnsPid?: number;
  containers: ContainerSubject[];
}

export async function collectPodSandboxStats(src: StatsSources, pod: PodSubject): Promise<PodSandboxStats> {
  const timestampNs = (src.now ?? unixNowNs)();
  const sample = pod.cgroupParent ? await sampleOf(src, pod.cgroupParent, pod.attributes.id) : undefined;
  const previous = sample ? src.cache.previous(pod.attributes.id, sample) : undefined;
  let interfaces: InterfaceCounters[] | undefined;
  if (pod.netnsPid !== undefined) {
    try {
      interfaces = await readNetDev(pod.netnsPid);
    } catch (err) {
      if (!gone(err)) throw err;
    }
  }
  const containers: PodContainer[] = [];
  for (const c of pod.containers) containers.push(await collectContainerStats(src, c));
  return podSandboxStats({ attributes: pod.attributes, sample, previous, interfaces, containers, timestampNs });
}
