// Finding a CRI peer's processes by what they are, never by name: every pid on the host, a
// process's argv, and the per-pod helpers of a daemon (processes whose argv names the daemon's
// private directory: containerd's shims name its socket, berth's monitors their pid files).
import { readdirSync, readFileSync } from 'node:fs';

export function allPids(): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Processes other than `except` whose argv mentions a path at or below `dir`. */
export function pidsNaming(dir: string, except: readonly number[] = []): number[] {
  const prefix = dir.replace(/\/+$/, '');
  return allPids().filter((pid) => !except.includes(pid) && pid !== process.pid && cmdline(pid).some((a) => a === prefix || a.includes(`${prefix}/`)));
}

/** Proportional set size in kB (smaps_rollup); 0 when the process is gone. */
export function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
