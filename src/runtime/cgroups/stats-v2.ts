// Statistics of a cgroup v2 container, mapped onto the v1-shaped numbers runc reports (fs2/*.go).
import { emptyStats, type CgroupStats } from './cgroup-stats.ts';
import { readCgroupFileIfExists } from './cgroupfs.ts';
import { MAX_UINT64, parseCpuList, parseFlatKeyed, parseIoStat, parseUint } from './stats-parse.ts';

export async function readStatsV2(dir: string, pageSizes: string[]): Promise<CgroupStats> {
  const stats = emptyStats();
  const read = (file: string): Promise<string | undefined> => readCgroupFileIfExists(dir, file);
  const uint = async (file: string): Promise<bigint | undefined> => {
    const text = await read(file);
    return text === undefined ? undefined : parseUint(text, `${dir}/${file}`);
  };
  const keyed = async (file: string): Promise<Record<string, bigint> | undefined> => {
    const text = await read(file);
    return text === undefined ? undefined : parseFlatKeyed(text, `${dir}/${file}`);
  };

  // pids
  stats.pids.current = (await uint('pids.current')) ?? 0n;
  const pidsMax = await read('pids.max');
  stats.pids.limit = pidsMax === undefined || pidsMax.trim() === 'max' ? 0n : parseUint(pidsMax, `${dir}/pids.max`);

  // memory
  const memStat = await keyed('memory.stat');
  if (memStat) {
    stats.memory.raw = memStat;
    stats.memory.cache = memStat.file ?? 0n;
    const events = await keyed('memory.events');
    const usage = {
      usage: (await uint('memory.current')) ?? 0n,
      max: (await uint('memory.peak')) ?? 0n,
      failcnt: events?.max ?? 0n,
      limit: (await uint('memory.max')) ?? MAX_UINT64,
    };
    stats.memory.usage = usage;
    const swapCurrent = await uint('memory.swap.current');
    if (swapCurrent !== undefined) {
      // v1 reports memory+swap; so does runc on v2, for compatibility.
      const swapMax = (await uint('memory.swap.max')) ?? MAX_UINT64;
      stats.memory.swap = {
        usage: swapCurrent + usage.usage,
        max: 0n,
        failcnt: 0n,
        limit: swapMax === MAX_UINT64 || usage.limit === MAX_UINT64 ? MAX_UINT64 : swapMax + usage.limit,
      };
    }
  }

  // io
  const ioStat = await read('io.stat');
  if (ioStat !== undefined) {
    const io = parseIoStat(ioStat, `${dir}/io.stat`);
    stats.blkio.ioServiceBytesRecursive = io.serviceBytes;
    stats.blkio.ioServicedRecursive = io.serviced;
  }

  // cpu (cpu.stat exists even when the cpu controller is not enabled)
  const cpuStat = await keyed('cpu.stat');
  if (cpuStat) {
    stats.cpu.usage.total = (cpuStat.usage_usec ?? 0n) * 1000n;
    stats.cpu.usage.user = (cpuStat.user_usec ?? 0n) * 1000n;
    stats.cpu.usage.kernel = (cpuStat.system_usec ?? 0n) * 1000n;
    stats.cpu.throttling = {
      periods: cpuStat.nr_periods ?? 0n,
      throttledPeriods: cpuStat.nr_throttled ?? 0n,
      throttledTime: (cpuStat.throttled_usec ?? 0n) * 1000n,
    };
  }

  // cpuset (effective lists: what the cgroup really gets)
  const cpus = await read('cpuset.cpus.effective');
  if (cpus !== undefined) stats.cpuset.cpus = parseCpuList(cpus, `${dir}/cpuset.cpus.effective`);
  const mems = await read('cpuset.mems.effective');
  if (mems !== undefined) stats.cpuset.mems = parseCpuList(mems, `${dir}/cpuset.mems.effective`);

  // hugetlb
  for (const size of pageSizes) {
    const current = await uint(`hugetlb.${size}.current`);
    if (current === undefined) continue;
    const events = await keyed(`hugetlb.${size}.events`);
    stats.hugetlb[size] = { usage: current, max: 0n, failcnt: events?.max ?? 0n };
  }
  return stats;
}
