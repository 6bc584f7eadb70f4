// Who owns a lease or an ingest lock: a process id and its start time (from /proc), so that an
// owner that died is known as dead even when the kernel has given its pid to another process.
import { processAlive, readProcStat } from '../sys/proc.ts';

export interface Owner {
  pid: number;
  /** /proc/<pid>/stat starttime; undefined for records written before berth recorded it. */
  startTime?: number;
}

let self: Owner | undefined;

export function thisProcess(): Owner {
  self ??= { pid: process.pid, startTime: readProcStat(process.pid)?.startTime };
  return self;
}

export function ownerAlive(o: Owner): boolean {
  return processAlive(o.pid, o.startTime);
}

/** The text of a lock file: `pid starttime`. */
export function formatOwner(o: Owner): string {
  return o.startTime === undefined ? String(o.pid) : `${o.pid} ${o.startTime}`;
}

/** Parses formatOwner's text (or a bare pid); undefined when it names no process. */
export function parseOwner(text: string): Owner | undefined {
  const m = /^(\d+)(?: (\d+))?\s*$/.exec(text);
  if (!m || Number(m[1]) <= 0) return undefined;
  return m[2] === undefined ? { pid: Number(m[1]) } : { pid: Number(m[1]), startTime: Number(m[2]) };
}
