// The times `logs --since` and `--until` take, in docker's formats: a Go duration back from now
// (`42m`, `1h30m`, `1.5h`), an RFC 3339 date (`2013-01-02T13:23:37Z`, with nanoseconds or an
// offset), the same without a zone in local time (`2013-01-02T13:23:37`, `2013-01-02T13:23`,
// `2013-01-02T13`, `2013-01-02`), or a Unix time in seconds[.nanoseconds]. Pure, given now.
import { invalid } from '../oci/errors.ts';

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const DURATION = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const DATE = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?)?)?([Zz]|[+-]\d\d:\d\d)?$/;
const UNIX = /^(\d+)(?:\.(\d{1,9}))?$/;

/** Nanoseconds of a Go duration (time.ParseDuration's syntax), or undefined. */
export function parseGoDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ns = 0;
  for (const m of text.matchAll(PART)) ns += Number(m[1]) * UNIT_NS[m[2]!]!;
  return text.startsWith('-') ? -ns : ns;
}

/** A `--since`/`--until` value as nanoseconds since the epoch; `nowMs` for relative ones. */
export function parseLogBound(text: string, nowMs: number, field: string): bigint {
  const value = text.trim();
  const d = value !== '0' ? parseGoDuration(value) : undefined;
  // Relative times count in whole seconds, as docker's client sends them.
  if (d !== undefined) return BigInt(Math.floor((nowMs - d / 1e6) / 1000)) * 1_000_000_000n;
  const m = DATE.exec(value);
  if (m) {
    const [y, mo, day, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
    const zone = m[8];
    let ms: number;
    if (!zone) ms = new Date(y, mo - 1, day, h, mi, s).getTime(); // no zone: the local one, as docker
    else {
      const offsetMin = /^[Zz]$/.test(zone) ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
      ms = Date.UTC(y, mo - 1, day, h, mi, s) - offsetMin * 60_000;
    }
    if (Number.isNaN(ms)) throw invalid(`${field}: "${text}" is not a date`, { field });
    return BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
  }
  const u = UNIX.exec(value);
  if (u) return BigInt(u[1]!) * 1_000_000_000n + BigInt((u[2] ?? '').padEnd(9, '0'));
  throw invalid(`${field}: "${text}" is neither a time (2013-01-02T13:23:37Z, a Unix time) nor a duration (42m)`, { field });
}
