// `runc events` output: {"type":"stats","id":...,"data":{...}} and {"type":"oom","id":...}, one
// JSON object per line. The data object follows runc 1.1's types/events.go field by field,
// including Go's encoding/json rules: `omitempty` drops zero numbers and empty lists/maps, never
// structs; a nil slice prints as null.
import type { BlkioEntry, CgroupStats, MemoryEntry } from './cgroup-stats.ts';

export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined };

export interface RuncEvent {
  type: 'stats' | 'oom';
  id: string;
  data?: JsonValue;
}

function omitZero(v: bigint): bigint | undefined {
  return v === 0n ? undefined : v;
}

function omitEmpty<T>(list: T[]): T[] | undefined {
  return list.length === 0 ? undefined : list;
}

function memoryEntry(e: MemoryEntry): JsonValue {
  return { limit: e.limit, usage: omitZero(e.usage), max: omitZero(e.max), failcnt: e.failcnt };
}

function blkioEntries(list: BlkioEntry[]): JsonValue[] | undefined {
  return omitEmpty(list.map((e) => ({ major: omitZero(e.major), minor: omitZero(e.minor), op: e.op || undefined, value: omitZero(e.value) })));
}

/** runc's `types.Stats` for a stats event (what `runc events --stats` prints under "data"). */
export function statsEventData(stats: CgroupStats): JsonValue {
  const { cpu, cpuset, memory, pids, blkio } = stats;
  const hugetlb: Record<string, JsonValue> = {};
  for (const [size, h] of Object.entries(stats.hugetlb)) hugetlb[size] = { usage: omitZero(h.usage), max: omitZero(h.max), failcnt: h.failcnt };
  return {
    cpu: {
      usage: {
        total: omitZero(cpu.usage.total),
        percpu: omitEmpty(cpu.usage.percpu),
        percpu_kernel: omitEmpty(cpu.usage.percpuKernel),
        percpu_user: omitEmpty(cpu.usage.percpuUser),
        kernel: cpu.usage.kernel,
        user: cpu.usage.user,
      },
      throttling: {
        periods: omitZero(cpu.throttling.periods),
        throttledPeriods: omitZero(cpu.throttling.throttledPeriods),
        throttledTime: omitZero(cpu.throttling.throttledTime),
      },
    },
    cpuset: {
      cpus: omitEmpty(cpuset.cpus),
      cpu_exclusive: cpuset.cpuExclusive,
      mems: omitEmpty(cpuset.mems),
      mem_hardwall: cpuset.memHardwall,
      mem_exclusive: cpuset.memExclusive,
      memory_migrate: cpuset.memoryMigrate,
      memory_spread_page: cpuset.memorySpreadPage,
      memory_spread_slab: cpuset.memorySpreadSlab,
      memory_pressure: cpuset.memoryPressure,
      sched_load_balance: cpuset.schedLoadBalance,
      sched_relax_domain_level: cpuset.schedRelaxDomainLevel,
    },
    memory: {
      cache: omitZero(memory.cache),
      usage: memoryEntry(memory.usage),
      swap: memoryEntry(memory.swap),
      kernel: memoryEntry(memory.kernel),
      kernelTCP: memoryEntry(memory.kernelTCP),
      raw: Object.keys(memory.raw).length === 0 ? undefined : sortedKeys(memory.raw),
    },
    pids: { current: omitZero(pids.current), limit: omitZero(pids.limit) },
    blkio: {
      ioServiceBytesRecursive: blkioEntries(blkio.ioServiceBytesRecursive),
      ioServicedRecursive: blkioEntries(blkio.ioServicedRecursive),
      ioQueueRecursive: blkioEntries(blkio.ioQueuedRecursive),
      ioServiceTimeRecursive: blkioEntries(blkio.ioServiceTimeRecursive),
      ioWaitTimeRecursive: blkioEntries(blkio.ioWaitTimeRecursive),
      ioMergedRecursive: blkioEntries(blkio.ioMergedRecursive),
      ioTimeRecursive: blkioEntries(blkio.ioTimeRecursive),
      sectorsRecursive: blkioEntries(blkio.sectorsRecursive),
    },
    hugetlb: sortedKeys(hugetlb),
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** Go prints map keys sorted. */
function sortedKeys<T extends JsonValue>(map: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(map).sort()) out[key] = map[key] as T;
  return out;
}

export function statsEvent(id: string, stats: CgroupStats): RuncEvent {
  return { type: 'stats', id, data: statsEventData(stats) };
}

export function oomEvent(id: string): RuncEvent {
  return { type: 'oom', id };
}

/** Go's encoding/json string escaping (HTML-safe by default: <, >, & and U+2028/9 as \u escapes). */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** JSON text with exact 64-bit integers; object keys in insertion order, undefined members left out. */
export function encodeJson(value: JsonValue | undefined): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return String(value);
    case 'string':
      return goString(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => encodeJson(v)).join(',')}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${goString(k)}:${encodeJson(v)}`);
  return `{${parts.join(',')}}`;
}

/** One event as `runc events` writes it: a JSON object and a newline. */
export function encodeEvent(event: RuncEvent): string {
  return `${encodeJson({ type: event.type, id: event.id, data: event.data })}\n`;
}
