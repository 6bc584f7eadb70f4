// CgroupSample (+ the previous one, for a CPU rate) -> runtime.v1 ContainerStats and
// PodSandboxStats, as containerd's CRI plugin fills them (pure). A part whose source is absent
// (a container that is not running has no cgroup) is left out; the attributes are always there.
import type { CgroupSample } from '../../runtime/cgroups/index.ts';
import type { InterfaceCounters } from './net-dev.ts';
import type {
  ContainerAttributes, ContainerStats, CpuUsage, FilesystemUsage, MemoryUsage, NetworkInterfaceUsage, NetworkUsage,
  PodSandboxAttributes, PodSandboxStats, SwapUsage, UInt64Value,
} from './stats-types.ts';

const u64 = (v: bigint | number): UInt64Value => ({ value: String(v) });
const opt = (v: bigint | undefined): UInt64Value | undefined => (v === undefined ? undefined : u64(v));

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A point of cumulative CPU time, what a CPU rate needs of the previous sample. */
export interface CpuPoint {
  usageNs: bigint;
  timestampNs: bigint;
}

export function cpuPointOf(sample: CgroupSample): CpuPoint | undefined {
  const usageNs = sample.cpu.usageNs;
  return usageNs === undefined ? undefined : { usageNs, timestampNs: sample.timestampNs };
}

/**
 * CPU use in nanocores (1e9 = one core busy) between two points; undefined without a previous
 * point, over no time, or when the counter went backwards (a new cgroup under the same id).
 */
export function usageNanoCores(previous: CpuPoint | undefined, current: CpuPoint): bigint | undefined {
  if (!previous) return undefined;
  const dt = current.timestampNs - previous.timestampNs;
  if (dt <= 0n || current.usageNs < previous.usageNs) return undefined;
  return ((current.usageNs - previous.usageNs) * 1_000_000_000n) / dt;
}

export function cpuUsage(sample: CgroupSample, previous?: CpuPoint): CpuUsage | undefined {
  const point = cpuPointOf(sample);
  if (!point) return undefined;
  return defined({ timestamp: String(sample.timestampNs), usage_core_nano_seconds: u64(point.usageNs), usage_nano_cores: opt(usageNanoCores(previous, point)) });
}

export function memoryUsage(sample: CgroupSample): MemoryUsage | undefined {
  const m = sample.memory;
  if (m.usageBytes === undefined) return undefined;
  const workingSet = m.workingSetBytes ?? m.usageBytes;
  // No limit: 0, as the kubelet expects (it then uses the node's allocatable memory).
  const available = m.limitBytes === undefined ? 0n : m.limitBytes > workingSet ? m.limitBytes - workingSet : 0n;
  return defined({
    timestamp: String(sample.timestampNs),
    working_set_bytes: u64(workingSet),
    available_bytes: u64(available),
    usage_bytes: u64(m.usageBytes),
    rss_bytes: opt(m.rssBytes),
    page_faults: opt(m.pageFaults),
    major_page_faults: opt(m.majorPageFaults),
  });
}

export function swapUsage(sample: CgroupSample): SwapUsage | undefined {
  const { swapBytes, swapLimitBytes } = sample.memory;
  if (swapBytes === undefined) return undefined;
  const available = swapLimitBytes === undefined ? undefined : swapLimitBytes > swapBytes ? swapLimitBytes - swapBytes : 0n;
  return defined({ timestamp: String(sample.timestampNs), swap_usage_bytes: u64(swapBytes), swap_available_bytes: opt(available) });
}

/** Disk use of a container's writable layer (SnapshotUsage / treeUsage of its snapshot). */
export interface WritableLayerUsage {
  bytes: number;
  inodes: number;
  timestampNs: bigint;
  /** The file system holding the snapshots (ImageFsInfo's mountpoint). */
  mountpoint: string;
}

export function filesystemUsage(layer: WritableLayerUsage): FilesystemUsage {
  return { timestamp: String(layer.timestampNs), fs_id: { mountpoint: layer.mountpoint }, used_bytes: u64(layer.bytes), inodes_used: u64(layer.inodes) };
}

export interface ContainerStatsInput {
  attributes: ContainerAttributes;
  /** Undefined for a container that is not running. */
  sample?: CgroupSample;
  /** The container's previous CPU point (SampleCache), for usage_nano_cores. */
  previous?: CpuPoint;
  writableLayer?: WritableLayerUsage;
}

export function containerStats(input: ContainerStatsInput): ContainerStats {
  const s = input.sample;
  return defined({
    attributes: input.attributes,
    cpu: s && cpuUsage(s, input.previous),
    memory: s && memoryUsage(s),
    writable_layer: input.writableLayer && filesystemUsage(input.writableLayer),
    swap: s && swapUsage(s),
  });
}

const DEFAULT_INTERFACE = 'eth0';

/** The pod's interfaces without loopback; eth0 (else the first) is the default one, as containerd. */
export function networkUsage(interfaces: InterfaceCounters[], timestampNs: bigint): NetworkUsage {
  const usages: NetworkInterfaceUsage[] = interfaces
    .filter((i) => i.name !== 'lo')
    .map((i) => ({ name: i.name, rx_bytes: u64(i.rxBytes), rx_errors: u64(i.rxErrors), tx_bytes: u64(i.txBytes), tx_errors: u64(i.txErrors) }));
  const def = usages.find((u) => u.name === DEFAULT_INTERFACE) ?? usages[0];
  return defined({ timestamp: String(timestampNs), default_interface: def, interfaces: usages.filter((u) => u !== def) });
}

export interface PodContainer {
  stats: ContainerStats;
  /** Processes in its cgroup (the sample's pids.current), summed into the pod's process count. */
  pids?: bigint;
}

export interface PodSandboxStatsInput {
  attributes: PodSandboxAttributes;
  /** The pod's own cgroup (linux.cgroup_parent of its containers); undefined when there is none. */
  sample?: CgroupSample;
  previous?: CpuPoint;
  /** /proc/<pid>/net/dev of a process in the pod's network namespace, parsed. */
  interfaces?: InterfaceCounters[];
  containers: PodContainer[];
  timestampNs: bigint;
}

export function podSandboxStats(input: PodSandboxStatsInput): PodSandboxStats {
  const s = input.sample;
  const processCount = input.containers.reduce((sum, c) => sum + (c.pids ?? 0n), 0n);
  return {
    attributes: input.attributes,
    linux: defined({
      cpu: s && cpuUsage(s, input.previous),
      memory: s && memoryUsage(s),
      network: input.interfaces && networkUsage(input.interfaces, input.timestampNs),
      process: { timestamp: String(input.timestampNs), process_count: u64(processCount) },
      containers: input.containers.map((c) => c.stats),
    }),
  };
}
