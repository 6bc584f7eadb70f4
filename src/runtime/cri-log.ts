// The CRI container log format the monitor writes (kubelet, cri-o's conmon and containerd write and
// read the same): one record a line, "<RFC 3339 time> <stdout|stderr> <tags> <text>", where the
// first tag is F for a full line or P for a piece of a line that continues in the next record of
// the same stream (later tags, after a ':', are ignored as the kubelet does). Pure: bytes in,
// records or whole lines out. Lines are joined as bytes and decoded once whole, so a character
// cut across two records comes back whole.

export type LogStream = 'stdout' | 'stderr';

export interface LogRecord {
  time: string;
  stream: LogStream;
  partial: boolean;
  text: string;
}

export interface LogLine {
  /** The time of the line's first piece, as the log file has it. */
  time: string;
  stream: LogStream;
  text: string;
  /** The line goes on in this stream's next LogLine: it was longer than the reader keeps whole. */
  partial?: boolean;
}

/** A record whose text is still bytes (a view into the caller's buffer). */
export interface RawRecord {
  time: string;
  stream: LogStream;
  partial: boolean;
  text: Buffer;
}

const SPACE = 0x20;
const STDOUT = Buffer.from('stdout ');
const STDERR = Buffer.from('stderr ');

/** The stream and tag of a record line, without copying anything; undefined if it is not one. */
export function recordKind(line: Buffer): { stream: LogStream; partial: boolean; textStart: number; timeEnd: number } | undefined {
  const timeEnd = line.indexOf(SPACE);
  if (timeEnd <= 0 || line.length < timeEnd + 9) return undefined;
  const s = timeEnd + 1;
  const stream = line.compare(STDOUT, 0, 7, s, s + 7) === 0 ? 'stdout' : line.compare(STDERR, 0, 7, s, s + 7) === 0 ? 'stderr' : undefined;
  const tag = line[s + 7];
  if (!stream || (tag !== 0x46 && tag !== 0x50)) return undefined; // F, P
  // The tags run to the next space (or the end: an empty line's record may stop there).
  let textStart = line.indexOf(SPACE, s + 8);
  textStart = textStart < 0 ? line.length : textStart + 1;
  return { stream, partial: tag === 0x50, textStart, timeEnd };
}

/** Parses one record line (without its newline); undefined if it is not a record. */
export function parseRecord(line: Buffer): RawRecord | undefined {
  const k = recordKind(line);
  if (!k) return undefined;
  return { time: line.toString('latin1', 0, k.timeEnd), stream: k.stream, partial: k.partial, text: line.subarray(k.textStart) };
}

/** Parses the records of a log file's text; lines that are not records are skipped. */
export function parseCriLog(text: string | Buffer): LogRecord[] {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const out: LogRecord[] = [];
  for (let start = 0; start < buf.length; ) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    const r = parseRecord(buf.subarray(start, end));
    if (r) out.push({ time: r.time, stream: r.stream, partial: r.partial, text: r.text.toString('utf8') });
    start = end + 1;
  }
  return out;
}

/** Encodes one record as the monitor writes it. */
export function formatRecord(r: LogRecord): string {
  return `${r.time} ${r.stream} ${r.partial ? 'P' : 'F'} ${r.text}\n`;
}

/** A whole line kept up to this many bytes; longer ones come out in pieces marked partial. */
export const MAX_LINE_BYTES = 1 << 20;

interface OpenLine {
  time: string;
  parts: Buffer[];
  size: number;
}

/** Joins partial records into whole lines, per stream, as records arrive. Memory: one line per stream. */
export class LogLineJoiner {
  private readonly open = new Map<LogStream, OpenLine>();

  constructor(private readonly maxLine = MAX_LINE_BYTES) {}

  /** The line this record completes (or a piece of one too long to keep whole), if any. */
  add(r: RawRecord): LogLine | undefined {
    const pending = this.open.get(r.stream);
    if (!pending) {
      if (!r.partial) return { time: r.time, stream: r.stream, text: r.text.toString('utf8') };
      // The caller's buffer is reused: keep a copy.
      this.open.set(r.stream, { time: r.time, parts: [Buffer.from(r.text)], size: r.text.length });
      return undefined;
    }
    pending.parts.push(r.partial ? Buffer.from(r.text) : r.text);
    pending.size += r.text.length;
    if (!r.partial) {
      this.open.delete(r.stream);
      return { time: pending.time, stream: r.stream, text: Buffer.concat(pending.parts, pending.size).toString('utf8') };
    }
    if (pending.size < this.maxLine) return undefined;
    // Too long to keep: out goes what is whole (up to a character boundary), the rest stays.
    const all = Buffer.concat(pending.parts, pending.size);
    const cut = utf8Boundary(all);
    const rest = Buffer.from(all.subarray(cut));
    this.open.set(r.stream, { time: r.time, parts: [rest], size: rest.length });
    return { time: pending.time, stream: r.stream, text: all.toString('utf8', 0, cut), partial: true };
  }

  push(records: readonly LogRecord[]): LogLine[] {
    const out: LogLine[] = [];
    for (const r of records) {
      const line = this.add({ ...r, text: Buffer.from(r.text) });
      if (line) out.push(line);
    }
    return out;
  }

  /** The times of the lines waiting for their last piece. */
  openTimes(): string[] {
    return [...this.open.values()].map((l) => l.time);
  }

  /** Lines whose last piece never came (a container that ended without a final newline). */
  flush(): LogLine[] {
    const out = [...this.open.entries()].map(([stream, l]) => ({ time: l.time, stream, text: Buffer.concat(l.parts, l.size).toString('utf8') }));
    this.open.clear();
    return out;
  }
}

/** The length of `buf` without a UTF-8 sequence cut at its end. */
function utf8Boundary(buf: Buffer): number {
  let i = buf.length;
  // Back over continuation bytes (10xxxxxx) to the lead byte, at most 3.
  for (let k = 0; k < 3 && i > 0 && (buf[i - 1]! & 0xc0) === 0x80; k++) i--;
  if (i === 0) return buf.length;
  const lead = buf[i - 1]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return buf.length - (i - 1) >= need ? buf.length : i - 1;
}

/** Whole lines of a complete log; with `flush` also a last line that never ended. */
export function joinLogLines(records: readonly LogRecord[], flush = true): LogLine[] {
  const j = new LogLineJoiner();
  return [...j.push(records), ...(flush ? j.flush() : [])];
}

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):?(\d\d))$/;

/** A record's time (RFC 3339, any precision, Z or an offset) as nanoseconds since the epoch. */
export function parseLogTime(time: string): bigint | undefined {
  const m = RFC3339.exec(time);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offsetMin = m[9] ? (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) : 0;
  const nanos = BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * 1_000_000n + nanos;
}

/** RFC 3339 in UTC with nine digits of nanoseconds, as `docker logs -t` prints every line. */
export function formatLogTime(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-11-28T03:12:39.578Z
  return `${iso.slice(0, 19)}.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`;
}
