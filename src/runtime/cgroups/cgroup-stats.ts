// Resource usage of a container's cgroup: what `runc events --stats` reports (runc types/events.go),
// as exact 64-bit counters (bigint: memory limits such as 9223372036854771712 do not fit a double).

export interface CpuUsage {
  /** Nanoseconds. */
  total: bigint;
  percpu: bigint[];
  percpuKernel: bigint[];
  percpuUser: bigint[];
  kernel: bigint;
  user: bigint;
}

export interface CpuThrottling {
  periods: bigint;
  throttledPeriods: bigint;
  /** Nanoseconds. */
  throttledTime: bigint;
}

export interface CpusetStats {
  cpus: number[];
  cpuExclusive: bigint;
  mems: number[];
  memHardwall: bigint;
  memExclusive: bigint;
  memoryMigrate: bigint;
  memorySpreadPage: bigint;
  memorySpreadSlab: bigint;
  memoryPressure: bigint;
  schedLoadBalance: bigint;
  schedRelaxDomainLevel: bigint;
}

export interface MemoryEntry {
  usage: bigint;
  /** Peak usage. */
  max: bigint;
  failcnt: bigint;
  limit: bigint;
}

export interface MemoryStats {
  /** Page cache (v1 memory.stat "cache", v2 "file"). */
  cache: bigint;
  usage: MemoryEntry;
  /** Memory+swap, as cgroup v1 counts it (v2 values are converted to that). */
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  /** memory.stat as is. */
  raw: Record<string, bigint>;
}

export interface PidsStats {
  current: bigint;
  /** 0 when unlimited. */
  limit: bigint;
}

export interface BlkioEntry {
  major: bigint;
  minor: bigint;
  op: string;
  value: bigint;
}

export interface BlkioStats {
  ioServiceBytesRecursive: BlkioEntry[];
  ioServicedRecursive: BlkioEntry[];
  ioQueuedRecursive: BlkioEntry[];
  ioServiceTimeRecursive: BlkioEntry[];
  ioWaitTimeRecursive: BlkioEntry[];
  ioMergedRecursive: BlkioEntry[];
  ioTimeRecursive: BlkioEntry[];
  sectorsRecursive: BlkioEntry[];
}

export interface HugetlbStats {
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}

export interface CgroupStats {
  cpu: { usage: CpuUsage; throttling: CpuThrottling };
  cpuset: CpusetStats;
  memory: MemoryStats;
  pids: PidsStats;
  blkio: BlkioStats;
  /** Page size ("2MB", "1GB") -> usage. */
  hugetlb: Record<string, HugetlbStats>;
}

const emptyMemoryEntry = (): MemoryEntry => ({ usage: 0n, max: 0n, failcnt: 0n, limit: 0n });

export function emptyStats(): CgroupStats {
  return {
    cpu: {
      usage: { total: 0n, percpu: [], percpuKernel: [], percpuUser: [], kernel: 0n, user: 0n },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    },
    cpuset: {
      cpus: [], cpuExclusive: 0n, mems: [], memHardwall: 0n, memExclusive: 0n, memoryMigrate: 0n,
      memorySpreadPage: 0n, memorySpreadSlab: 0n, memoryPressure: 0n, schedLoadBalance: 0n, schedRelaxDomainLevel: 0n,
    },
    memory: { cache: 0n, usage: emptyMemoryEntry(), swap: emptyMemoryEntry(), kernel: emptyMemoryEntry(), kernelTCP: emptyMemoryEntry(), raw: {} },
    pids: { current: 0n, limit: 0n },
    blkio: {
      ioServiceBytesRecursive: [], ioServicedRecursive: [], ioQueuedRecursive: [], ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [], ioMergedRecursive: [], ioTimeRecursive: [], sectorsRecursive: [],
    },
    hugetlb: {},
  };
}
