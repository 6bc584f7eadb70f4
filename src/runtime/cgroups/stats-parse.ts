// Parsers of cgroupfs statistics files (formats: kernel admin-guide cgroup-v1/*.rst, cgroup-v2.rst).
import { BerthError } from '../../oci/errors.ts';
import type { BlkioEntry } from './cgroup-stats.ts';

export const MAX_UINT64 = 18446744073709551615n;

function parseError(file: string, detail: string): BerthError {
  return new BerthError('internal', `cannot parse cgroup file ${file}: ${detail}`, { path: file });
}

/** One unsigned value; "max" is the largest, a negative value counts as 0 (as runc's ParseUint). */
export function parseUint(text: string, file: string): bigint {
  const t = text.trim();
  if (t === 'max') return MAX_UINT64;
  if (/^-\d+$/.test(t)) return 0n;
  if (!/^\d+$/.test(t)) throw parseError(file, JSON.stringify(t));
  return BigInt(t);
}

export function parseInt64(text: string, file: string): bigint {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) throw parseError(file, JSON.stringify(t));
  return BigInt(t);
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control, cgroup.events). */
export function parseFlatKeyed(text: string, file: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [key, value, extra] = line.trim().split(/\s+/);
    if (key === undefined || value === undefined || extra !== undefined) throw parseError(file, JSON.stringify(line));
    out[key] = parseUint(value, file);
  }
  return out;
}

/** Space separated unsigned values (cpuacct.usage_percpu). */
export function parseUintList(text: string, file: string): bigint[] {
  return text.trim().split(/\s+/).filter(Boolean).map((v) => parseUint(v, file));
}

/** A cpulist "0-3,5" -> [0,1,2,3,5]; empty text is an empty list. */
export function parseCpuList(text: string, file: string): number[] {
  const t = text.trim();
  if (!t) return [];
  const out: number[] = [];
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw parseError(file, JSON.stringify(t));
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 0xffff) throw parseError(file, JSON.stringify(t));
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

/**
 * blkio.* statistics: "8:0 Read 1282048" or "8:0 6792" per line; the "Total N" line is skipped.
 */
export function parseBlkioStat(text: string, file: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(/[ :]/).filter(Boolean);
    if (fields.length === 0) continue;
    if (fields.length === 2 && fields[0] === 'Total') continue;
    if (fields.length < 3 || fields.length > 4) throw parseError(file, JSON.stringify(line));
    const [major, minor] = fields as [string, string];
    const op = fields.length === 4 ? (fields[2] as string) : '';
    out.push({ major: parseUint(major, file), minor: parseUint(minor, file), op, value: parseUint(fields[fields.length - 1] as string, file) });
  }
  return out;
}

/** USER_HZ: the unit of cpuacct.stat; 100 on every Linux architecture runc supports. */
const CLOCK_TICKS = 100n;

/** cpuacct.stat "user N\nsystem N" in clock ticks -> nanoseconds. */
export function parseCpuacctStat(text: string, file: string): { user: bigint; kernel: bigint } {
  const kv = parseFlatKeyed(text, file);
  if (kv.user === undefined || kv.system === undefined) throw parseError(file, 'missing user or system');
  return { user: (kv.user * 1_000_000_000n) / CLOCK_TICKS, kernel: (kv.system * 1_000_000_000n) / CLOCK_TICKS };
}

/** cpuacct.usage_all: a header "cpu user system", then "N user system" (ns) per CPU. */
export function parseCpuacctUsageAll(text: string, file: string): { user: bigint[]; kernel: bigint[] } {
  const user: bigint[] = [];
  const kernel: bigint[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length !== 3) continue;
    user.push(parseUint(cols[1] as string, file));
    kernel.push(parseUint(cols[2] as string, file));
  }
  return { user, kernel };
}

/**
 * v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device, mapped to v1's
 * io_service_bytes (Read/Write) and io_serviced (Read/Write) tables as runc does.
 */
export function parseIoStat(text: string, file: string): { serviceBytes: BlkioEntry[]; serviced: BlkioEntry[] } {
  const serviceBytes: BlkioEntry[] = [];
  const serviced: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const [dev, ...items] = line.trim().split(/\s+/);
    if (!dev) continue;
    const m = /^(\d+):(\d+)$/.exec(dev);
    if (!m) throw parseError(file, JSON.stringify(line));
    const major = BigInt(m[1] as string);
    const minor = BigInt(m[2] as string);
    for (const item of items) {
      const [key, value] = item.split('=');
      if (value === undefined) continue;
      const table = key === 'rbytes' || key === 'wbytes' ? serviceBytes : key === 'rios' || key === 'wios' ? serviced : undefined;
      if (!table) continue;
      table.push({ major, minor, op: key?.startsWith('r') ? 'Read' : 'Write', value: parseUint(value, file) });
    }
  }
  return { serviceBytes, serviced };
}

/** /sys/kernel/mm/hugepages entries ("hugepages-2048kB") -> hugetlb file names ("2MB"), as runc. */
export function hugePageSizesFromNames(names: string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    const m = /^hugepages-(\d+)kB$/.exec(name);
    if (!m) continue;
    const kb = Number(m[1]);
    out.push(kb >= 1 << 20 ? `${kb >> 20}GB` : kb >= 1 << 10 ? `${kb >> 10}MB` : `${kb}KB`);
  }
  return out;
}
