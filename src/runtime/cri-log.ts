// The CRI container log format the monitor writes (kubelet reads the same): one record a line,
// "<RFC 3339 time> <stdout|stderr> <F|P> <text>", where P marks a piece of a line that continues in
// the next record of the same stream. Pure: text in, records or whole lines out.

export type LogStream = 'stdout' | 'stderr';

export interface LogRecord {
  time: string;
  stream: LogStream;
  partial: boolean;
  text: string;
}

export interface LogLine {
  /** The time of the line's first piece. */
  time: string;
  stream: LogStream;
  text: string;
}

const RECORD = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s;

/** Parses the records of a log file's text; lines that are not records are skipped. */
export function parseCriLog(text: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    const m = RECORD.exec(line);
    if (m) out.push({ time: m[1]!, stream: m[2] as LogStream, partial: m[3] === 'P', text: m[4]! });
  }
  return out;
}

/**
 * Joins partial records into whole lines, per stream. A line whose last piece has not been written
 * yet is returned only with `flush` (a container that ended without a final newline).
 */
export function joinLogLines(records: readonly LogRecord[], flush = true): LogLine[] {
  const out: LogLine[] = [];
  const open = new Map<LogStream, LogLine>();
  for (const r of records) {
    const pending = open.get(r.stream);
    const line = pending ? { ...pending, text: pending.text + r.text } : { time: r.time, stream: r.stream, text: r.text };
    if (r.partial) open.set(r.stream, line);
    else {
      open.delete(r.stream);
      out.push(line);
    }
  }
  if (flush) out.push(...open.values());
  return out;
}
