// Reading /proc: process liveness (pid plus start time, so that a reused pid is not mistaken for
// the container), and capability facts of the runtime itself.

import { readFileSync } from 'node:fs';

export interface ProcStat {
  state: string;
  startTime: number;
}

/** Parses /proc/<pid>/stat; the command name may contain spaces and parentheses. */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // After "pid (comm) ": field 3 is state, field 22 is starttime.
  return { state: fields[0] ?? '?', startTime: Number(fields[19]) };
}

export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** True if pid is alive (not a zombie) and, when given, started at startTime. */
export function processAlive(pid: number, startTime?: number): boolean {
  if (!pid) return false;
  const stat = readProcStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

export function readCapBounding(pid: number | 'self' = 'self'): bigint {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function readLastCap(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    return 40;
  }
}

/** Sends a signal, ignoring a process that is already gone (pid 0: nothing). */
export function signalQuietly(pid: number, signal: NodeJS.Signals | number): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Resolves once the process has exited (a zombie counts as gone); false after timeoutMs. */
export async function untilGone(pid: number, startTime: number | undefined, timeoutMs: number): Promise<boolean> {
  if (!pid) return true;
  const deadline = Date.now() + timeoutMs;
  // A process that is not our child tells nobody when it exits: look, sleeping a little longer each time.
  for (let pause = 1; processAlive(pid, startTime); pause = Math.min(pause * 2, 20)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, pause));
  }
  return true;
}
