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

/** Joins partial records into whole lines, per stream, as records arrive (for `logs --follow`). */
export class LogLineJoiner {
  private readonly open = new Map<LogStream, LogLine>();

  push(records: readonly LogRecord[]): LogLine[] {
    const out: LogLine[] = [];
    for (const r of records) {
      const pending = this.open.get(r.stream);
      const line = pending ? { ...pending, text: pending.text + r.text } : { time: r.time, stream: r.stream, text: r.text };
      if (r.partial) this.open.set(r.stream, line);
      else {
        this.open.delete(r.stream);
        out.push(line);
      }
    }
    return out;
  }

  /** Lines whose last piece never came (a container that ended without a final newline). */
  flush(): LogLine[] {
    const out = [...this.open.values()];
    this.open.clear();
    return out;
  }
}

/** Whole lines of a complete log; with `flush` also a last line that never ended. */
export function joinLogLines(records: readonly LogRecord[], flush = true): LogLine[] {
  const j = new LogLineJoiner();
  return [...j.push(records), ...(flush ? j.flush() : [])];
}
