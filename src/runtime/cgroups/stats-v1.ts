// Statistics of a cgroup v1 container, read the way runc's fs manager does (fs/*.go GetStats).
import { readdir } from 'node:fs/promises';
import { emptyStats, type BlkioEntry, type BlkioStats, type CgroupStats, type MemoryEntry } from './cgroup-stats.ts';
import { readCgroupFile, readCgroupFileIfExists } from './cgroupfs.ts';
import {
  hugePageSizesFromNames, parseBlkioStat, parseCpuacctStat, parseCpuacctUsageAll, parseCpuList,
  parseFlatKeyed, parseInt64, parseUint, parseUintList,
} from './stats-parse.ts';

async function uintOr0(dir: string, file: string): Promise<bigint> {
  const text = await readCgroupFileIfExists(dir, file);
  return text === undefined ? 0n : parseUint(text, `${dir}/${file}`);
}

/** memory.<name>.{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}; optional ones may be absent. */
async function memoryEntry(dir: string, name: string): Promise<MemoryEntry> {
  const prefix = name ? `memory.${name}` : 'memory';
  const usage = await readCgroupFileIfExists(dir, `${prefix}.usage_in_bytes`);
  if (usage === undefined) return { usage: 0n, max: 0n, failcnt: 0n, limit: 0n }; // swap/kmem accounting off
  return {
    usage: parseUint(usage, `${dir}/${prefix}.usage_in_bytes`),
    max: await uintOr0(dir, `${prefix}.max_usage_in_bytes`),
    failcnt: await uintOr0(dir, `${prefix}.failcnt`),
    limit: await uintOr0(dir, `${prefix}.limit_in_bytes`),
  };
}

type BlkioTable = keyof BlkioStats;

// runc's order of preference: BFQ debug stats, BFQ, CFQ, throttle recursive, throttle. A group is
// used when its first file exists and has entries.
const BLKIO_GROUPS: Array<Array<[string, BlkioTable]>> = [
  [
    ['blkio.bfq.sectors_recursive', 'sectorsRecursive'],
    ['blkio.bfq.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.bfq.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.bfq.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.bfq.io_queued_recursive', 'ioQueuedRecursive'],
    ['blkio.bfq.time_recursive', 'ioTimeRecursive'],
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.sectors_recursive', 'sectorsRecursive'],
    ['blkio.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.io_queued_recursive', 'ioQueuedRecursive'],
    ['blkio.time_recursive', 'ioTimeRecursive'],
    ['blkio.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes', 'ioServiceBytesRecursive'],
  ],
];

async function readBlkio(dir: string, blkio: BlkioStats): Promise<void> {
  for (const group of BLKIO_GROUPS) {
    const found: Array<[BlkioTable, BlkioEntry[]]> = [];
    for (const [i, [file, table]] of group.entries()) {
      const text = await readCgroupFileIfExists(dir, file);
      const entries = text === undefined ? [] : parseBlkioStat(text, `${dir}/${file}`);
      if (entries.length === 0) {
        if (i === 0) break; // this group is not in use; try the next
        for (const [t, e] of found) blkio[t] = e;
        return;
      }
      found.push([table, entries]);
    }
    if (found.length === group.length) {
      for (const [t, e] of found) blkio[t] = e;
      return;
    }
  }
}

/** Page sizes the kernel supports ("2MB", "1GB"), from /sys/kernel/mm/hugepages. */
export async function hugePageSizes(dir = '/sys/kernel/mm/hugepages'): Promise<string[]> {
  try {
    return hugePageSizesFromNames(await readdir(dir));
  } catch {
    return []; // no hugetlb support: no hugetlb stats
  }
}

export async function readStatsV1(paths: Record<string, string>, pageSizes: string[]): Promise<CgroupStats> {
  const stats = emptyStats();

  const cpuacct = paths.cpuacct;
  if (cpuacct) {
    const times = parseCpuacctStat(await readCgroupFile(cpuacct, 'cpuacct.stat'), `${cpuacct}/cpuacct.stat`);
    stats.cpu.usage.total = parseUint(await readCgroupFile(cpuacct, 'cpuacct.usage'), `${cpuacct}/cpuacct.usage`);
    stats.cpu.usage.percpu = parseUintList(await readCgroupFile(cpuacct, 'cpuacct.usage_percpu'), `${cpuacct}/cpuacct.usage_percpu`);
    const all = await readCgroupFileIfExists(cpuacct, 'cpuacct.usage_all');
    if (all !== undefined) {
      const modes = parseCpuacctUsageAll(all, `${cpuacct}/cpuacct.usage_all`);
      stats.cpu.usage.percpuKernel = modes.kernel;
      stats.cpu.usage.percpuUser = modes.user;
    }
    stats.cpu.usage.user = times.user;
    stats.cpu.usage.kernel = times.kernel;
  }

  const cpu = paths.cpu;
  if (cpu) {
    const text = await readCgroupFileIfExists(cpu, 'cpu.stat');
    if (text !== undefined) {
      const kv = parseFlatKeyed(text, `${cpu}/cpu.stat`);
      stats.cpu.throttling = { periods: kv.nr_periods ?? 0n, throttledPeriods: kv.nr_throttled ?? 0n, throttledTime: kv.throttled_time ?? 0n };
    }
  }

  const cpuset = paths.cpuset;
  if (cpuset) {
    const s = stats.cpuset;
    const list = async (file: string): Promise<number[]> => {
      const text = await readCgroupFileIfExists(cpuset, file);
      return text === undefined ? [] : parseCpuList(text, `${cpuset}/${file}`);
    };
    s.cpus = await list('cpuset.cpus');
    s.mems = await list('cpuset.mems');
    s.cpuExclusive = await uintOr0(cpuset, 'cpuset.cpu_exclusive');
    s.memHardwall = await uintOr0(cpuset, 'cpuset.mem_hardwall');
    s.memExclusive = await uintOr0(cpuset, 'cpuset.mem_exclusive');
    s.memoryMigrate = await uintOr0(cpuset, 'cpuset.memory_migrate');
    s.memorySpreadPage = await uintOr0(cpuset, 'cpuset.memory_spread_page');
    s.memorySpreadSlab = await uintOr0(cpuset, 'cpuset.memory_spread_slab');
    s.memoryPressure = await uintOr0(cpuset, 'cpuset.memory_pressure');
    s.schedLoadBalance = await uintOr0(cpuset, 'cpuset.sched_load_balance');
    const level = await readCgroupFileIfExists(cpuset, 'cpuset.sched_relax_domain_level');
    s.schedRelaxDomainLevel = level === undefined ? 0n : parseInt64(level, `${cpuset}/cpuset.sched_relax_domain_level`);
  }

  const memory = paths.memory;
  if (memory) {
    const statText = await readCgroupFileIfExists(memory, 'memory.stat');
    if (statText !== undefined) {
      stats.memory.raw = parseFlatKeyed(statText, `${memory}/memory.stat`);
      stats.memory.cache = stats.memory.raw.cache ?? 0n;
      stats.memory.usage = await memoryEntry(memory, '');
      stats.memory.swap = await memoryEntry(memory, 'memsw');
      stats.memory.kernel = await memoryEntry(memory, 'kmem');
      stats.memory.kernelTCP = await memoryEntry(memory, 'kmem.tcp');
    }
  }

  const pids = paths.pids;
  if (pids) {
    stats.pids.current = await uintOr0(pids, 'pids.current');
    const max = await readCgroupFileIfExists(pids, 'pids.max');
    stats.pids.limit = max === undefined || max.trim() === 'max' ? 0n : parseUint(max, `${pids}/pids.max`);
  }

  if (paths.blkio) await readBlkio(paths.blkio, stats.blkio);

  const hugetlb = paths.hugetlb;
  if (hugetlb) {
    for (const size of pageSizes) {
      stats.hugetlb[size] = {
        usage: await uintOr0(hugetlb, `hugetlb.${size}.usage_in_bytes`),
        max: await uintOr0(hugetlb, `hugetlb.${size}.max_usage_in_bytes`),
        failcnt: await uintOr0(hugetlb, `hugetlb.${size}.failcnt`),
      };
    }
  }
  return stats;
}
