// One resource-usage sample of a container's cgroup, in the terms the kubelet (CRI stats) and
// `docker stats` use, built from the text of cgroupfs files (pure: the reader in sample-reader.ts
// does the I/O). A file or controller that is absent leaves its fields undefined, never 0.
//
// Memory follows cadvisor / containerd's CRI plugin: working set = usage - inactive_file (the
// hierarchical total_inactive_file on v1), clamped at 0; rss = (total_)rss on v1, anon on v2;
// cache = (total_)cache on v1, file on v2; swap is swap alone (v1: memsw.usage - usage).
import { parseBlkioStat, parseCpuacctStat, parseFlatKeyed, parseIoStat, parseUint, MAX_UINT64 } from './stats-parse.ts';
import type { BlkioEntry } from './cgroup-stats.ts';

export interface CpuSample {
  /** Cumulative CPU time, nanoseconds. */
  usageNs?: bigint;
  userNs?: bigint;
  systemNs?: bigint;
  periods?: bigint;
  throttledPeriods?: bigint;
  throttledNs?: bigint;
}

export interface MemorySample {
  usageBytes?: bigint;
  workingSetBytes?: bigint;
  rssBytes?: bigint;
  cacheBytes?: bigint;
  swapBytes?: bigint;
  /** Undefined when unlimited. */
  limitBytes?: bigint;
  /** Undefined when swap is unlimited or not accounted (v2 memory.swap.max; v1 memsw limit - limit). */
  swapLimitBytes?: bigint;
  pageFaults?: bigint;
  majorPageFaults?: bigint;
  /** Times usage hit the limit (v1 memory.failcnt, v2 memory.events "max"). */
  failcnt?: bigint;
  /** Processes the OOM killer killed in this cgroup (v1 memory.oom_control, v2 memory.events "oom_kill"). */
  oomKills?: bigint;
}

export interface PidsSample {
  current?: bigint;
  /** Undefined when unlimited. */
  limit?: bigint;
}

export interface IoSample {
  readBytes?: bigint;
  writeBytes?: bigint;
  readOps?: bigint;
  writeOps?: bigint;
}

export interface CgroupSample {
  /** When it was read: Unix time in nanoseconds. */
  timestampNs: bigint;
  cpu: CpuSample;
  memory: MemorySample;
  pids: PidsSample;
  io: IoSample;
}

/** The files a v1 sample is made of, by controller. */
export const V1_SAMPLE_FILES = {
  cpuacct: ['cpuacct.usage', 'cpuacct.stat'],
  cpu: ['cpu.stat'],
  memory: ['memory.usage_in_bytes', 'memory.limit_in_bytes', 'memory.failcnt', 'memory.stat', 'memory.oom_control', 'memory.memsw.usage_in_bytes', 'memory.memsw.limit_in_bytes'],
  pids: ['pids.current', 'pids.max'],
  blkio: [
    'blkio.bfq.io_service_bytes_recursive', 'blkio.bfq.io_serviced_recursive',
    'blkio.io_service_bytes_recursive', 'blkio.io_serviced_recursive',
    'blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_serviced_recursive',
    'blkio.throttle.io_service_bytes', 'blkio.throttle.io_serviced',
  ],
} as const;

/** The files of a v2 sample (one directory). */
export const V2_SAMPLE_FILES = [
  'cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'memory.events', 'memory.swap.current', 'memory.swap.max',
  'pids.current', 'pids.max', 'io.stat',
] as const;

export type V1SampleFile = (typeof V1_SAMPLE_FILES)[keyof typeof V1_SAMPLE_FILES][number];
export type V2SampleFile = (typeof V2_SAMPLE_FILES)[number];
/** File name -> its text; a missing key is a missing file. `where` names them in parse errors. */
export type SampleTexts<F extends string> = { readonly [K in F]?: string };

/** v1 memory limits at or above this are "no limit" (the kernel shows PAGE_COUNTER_MAX * page size). */
const V1_UNLIMITED = 1n << 62n;

function uintOf(text: string | undefined, file: string): bigint | undefined {
  return text === undefined ? undefined : parseUint(text, file);
}

/** A limit file: "max" (v2) or a huge v1 value means none. */
function limitOf(text: string | undefined, file: string): bigint | undefined {
  if (text === undefined || text.trim() === 'max') return undefined;
  const v = parseUint(text, file);
  return v >= V1_UNLIMITED ? undefined : v;
}

function keyedOf(text: string | undefined, file: string): Record<string, bigint> | undefined {
  return text === undefined ? undefined : parseFlatKeyed(text, file);
}

const minus = (a: bigint, b: bigint): bigint => (a > b ? a - b : 0n);

function sumOps(entries: BlkioEntry[], op: string): bigint {
  return entries.filter((e) => e.op === op).reduce((s, e) => s + e.value, 0n);
}

/** The first blkio pair of files with entries (the one the kernel's active policy fills), summed over devices. */
function blkioSample(t: SampleTexts<V1SampleFile>, where: string): IoSample {
  const pairs: Array<[V1SampleFile, V1SampleFile]> = [
    ['blkio.bfq.io_service_bytes_recursive', 'blkio.bfq.io_serviced_recursive'],
    ['blkio.io_service_bytes_recursive', 'blkio.io_serviced_recursive'],
    ['blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_serviced_recursive'],
    ['blkio.throttle.io_service_bytes', 'blkio.throttle.io_serviced'],
  ];
  let seen = false;
  for (const [bytesFile, opsFile] of pairs) {
    const bytesText = t[bytesFile];
    if (bytesText === undefined) continue;
    seen = true;
    const bytes = parseBlkioStat(bytesText, `${where}/${bytesFile}`);
    if (bytes.length === 0) continue;
    const ops = parseBlkioStat(t[opsFile] ?? '', `${where}/${opsFile}`);
    return { readBytes: sumOps(bytes, 'Read'), writeBytes: sumOps(bytes, 'Write'), readOps: sumOps(ops, 'Read'), writeOps: sumOps(ops, 'Write') };
  }
  // The controller is there but nothing was read or written yet.
  return seen ? { readBytes: 0n, writeBytes: 0n, readOps: 0n, writeOps: 0n } : {};
}

export interface V1SampleInput {
  /** Controller -> the texts of its files (a controller that is not mounted is missing). */
  texts: { readonly [C in keyof typeof V1_SAMPLE_FILES]?: SampleTexts<V1SampleFile> };
  /** Controller -> its directory, for error messages. */
  dirs?: Readonly<Record<string, string>>;
  timestampNs: bigint;
}

export function sampleFromV1(input: V1SampleInput): CgroupSample {
  const at = (c: string): string => input.dirs?.[c] ?? c;
  const sample: CgroupSample = { timestampNs: input.timestampNs, cpu: {}, memory: {}, pids: {}, io: {} };

  const acct = input.texts.cpuacct;
  if (acct) {
    sample.cpu.usageNs = uintOf(acct['cpuacct.usage'], `${at('cpuacct')}/cpuacct.usage`);
    const stat = acct['cpuacct.stat'];
    if (stat !== undefined) {
      const times = parseCpuacctStat(stat, `${at('cpuacct')}/cpuacct.stat`);
      sample.cpu.userNs = times.user;
      sample.cpu.systemNs = times.kernel;
    }
  }
  const cpuStat = keyedOf(input.texts.cpu?.['cpu.stat'], `${at('cpu')}/cpu.stat`);
  if (cpuStat) {
    sample.cpu.periods = cpuStat.nr_periods;
    sample.cpu.throttledPeriods = cpuStat.nr_throttled;
    sample.cpu.throttledNs = cpuStat.throttled_time;
  }

  const mem = input.texts.memory;
  if (mem) {
    const dir = at('memory');
    const m = sample.memory;
    m.usageBytes = uintOf(mem['memory.usage_in_bytes'], `${dir}/memory.usage_in_bytes`);
    m.limitBytes = limitOf(mem['memory.limit_in_bytes'], `${dir}/memory.limit_in_bytes`);
    m.failcnt = uintOf(mem['memory.failcnt'], `${dir}/memory.failcnt`);
    const stat = keyedOf(mem['memory.stat'], `${dir}/memory.stat`);
    if (stat) {
      // total_* count the whole subtree (hierarchy is always on since Linux 5.x).
      const pick = (key: string): bigint | undefined => stat[`total_${key}`] ?? stat[key];
      m.rssBytes = pick('rss');
      m.cacheBytes = pick('cache');
      m.pageFaults = pick('pgfault');
      m.majorPageFaults = pick('pgmajfault');
      const inactive = pick('inactive_file');
      if (m.usageBytes !== undefined) m.workingSetBytes = inactive === undefined ? m.usageBytes : minus(m.usageBytes, inactive);
    }
    m.oomKills = keyedOf(mem['memory.oom_control'], `${dir}/memory.oom_control`)?.oom_kill;
    const memsw = uintOf(mem['memory.memsw.usage_in_bytes'], `${dir}/memory.memsw.usage_in_bytes`);
    if (memsw !== undefined && m.usageBytes !== undefined) m.swapBytes = minus(memsw, m.usageBytes);
    const memswLimit = limitOf(mem['memory.memsw.limit_in_bytes'], `${dir}/memory.memsw.limit_in_bytes`);
    if (memswLimit !== undefined && m.limitBytes !== undefined) m.swapLimitBytes = minus(memswLimit, m.limitBytes);
  }

  const pids = input.texts.pids;
  if (pids) {
    sample.pids.current = uintOf(pids['pids.current'], `${at('pids')}/pids.current`);
    sample.pids.limit = limitOf(pids['pids.max'], `${at('pids')}/pids.max`);
  }

  if (input.texts.blkio) sample.io = blkioSample(input.texts.blkio, at('blkio'));
  return compact(sample);
}

export interface V2SampleInput {
  texts: SampleTexts<V2SampleFile>;
  /** The cgroup directory, for error messages. */
  dir?: string;
  timestampNs: bigint;
}

export function sampleFromV2(input: V2SampleInput): CgroupSample {
  const t = input.texts;
  const f = (file: V2SampleFile): string => `${input.dir ?? ''}/${file}`;
  const sample: CgroupSample = { timestampNs: input.timestampNs, cpu: {}, memory: {}, pids: {}, io: {} };
  const usec = (v: bigint | undefined): bigint | undefined => (v === undefined ? undefined : v * 1000n);

  const cpu = keyedOf(t['cpu.stat'], f('cpu.stat'));
  if (cpu) {
    sample.cpu = {
      usageNs: usec(cpu.usage_usec), userNs: usec(cpu.user_usec), systemNs: usec(cpu.system_usec),
      periods: cpu.nr_periods, throttledPeriods: cpu.nr_throttled, throttledNs: usec(cpu.throttled_usec),
    };
  }

  const m = sample.memory;
  m.usageBytes = uintOf(t['memory.current'], f('memory.current'));
  m.limitBytes = limitOf(t['memory.max'], f('memory.max'));
  const stat = keyedOf(t['memory.stat'], f('memory.stat'));
  if (stat) {
    m.rssBytes = stat.anon;
    m.cacheBytes = stat.file;
    m.pageFaults = stat.pgfault;
    m.majorPageFaults = stat.pgmajfault;
    if (m.usageBytes !== undefined) m.workingSetBytes = stat.inactive_file === undefined ? m.usageBytes : minus(m.usageBytes, stat.inactive_file);
  }
  const events = keyedOf(t['memory.events'], f('memory.events'));
  if (events) {
    m.failcnt = events.max;
    m.oomKills = events.oom_kill;
  }
  m.swapBytes = uintOf(t['memory.swap.current'], f('memory.swap.current'));
  const swapMax = t['memory.swap.max'];
  if (swapMax !== undefined && swapMax.trim() !== 'max') {
    const v = parseUint(swapMax, f('memory.swap.max'));
    if (v !== MAX_UINT64) m.swapLimitBytes = v;
  }

  sample.pids.current = uintOf(t['pids.current'], f('pids.current'));
  sample.pids.limit = limitOf(t['pids.max'], f('pids.max'));

  const io = t['io.stat'];
  if (io !== undefined) {
    const parsed = parseIoStat(io, f('io.stat'));
    sample.io = {
      readBytes: sumOps(parsed.serviceBytes, 'Read'), writeBytes: sumOps(parsed.serviceBytes, 'Write'),
      readOps: sumOps(parsed.serviced, 'Read'), writeOps: sumOps(parsed.serviced, 'Write'),
    };
  }
  return compact(sample);
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Absent fields are missing keys, not keys holding undefined. */
function compact(s: CgroupSample): CgroupSample {
  return { timestampNs: s.timestampNs, cpu: dropUndefined(s.cpu), memory: dropUndefined(s.memory), pids: dropUndefined(s.pids), io: dropUndefined(s.io) };
}
