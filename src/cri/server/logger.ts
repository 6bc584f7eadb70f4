// berthd's log: one line per event in logfmt (`time=… level=info msg="…" key=value`), the format
// containerd and cri-o write and journald, grep and log shippers read as fields.
import type { LogLevel } from '../daemon-config.ts';

export type LogFields = Record<string, string | number | boolean | undefined>;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function quote(value: string): string {
  return /^[A-Za-z0-9_./:@+-]+$/.test(value) ? value : JSON.stringify(value);
}

export function formatLogLine(time: Date, level: LogLevel, msg: string, fields: LogFields = {}): string {
  const parts = [`time=${time.toISOString()}`, `level=${level}`, `msg=${quote(msg)}`];
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${quote(String(v))}`);
  return parts.join(' ');
}

export class Logger {
  constructor(
    readonly level: LogLevel,
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  ) {}

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level];
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (this.enabled(level)) this.write(formatLogLine(new Date(), level, msg, fields));
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }
}
