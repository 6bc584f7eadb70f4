// Waits for a process that is not our child to exit, the way a shim learns of it without
// spawning anything: by watching /proc/<pid>/stat (gone, a zombie, or a new process on that pid).

import { readFileSync } from 'node:fs';

const tick = new Int32Array(new SharedArrayBuffer(4));

/** Field 22 (starttime) and field 3 (state) of /proc/<pid>/stat, or undefined if pid is gone. */
export function procStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], startTime: rest[19] };
}

/** Returns once `pid` (started at `startTime`) has exited; throws after timeoutMs. */
export function waitForExit(pid, startTime, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = procStat(pid);
    if (!s || s.state === 'Z' || s.state === 'X' || s.startTime !== startTime) return;
    if (Date.now() > deadline) throw new Error(`process ${pid} still running after ${timeoutMs} ms`);
    Atomics.wait(tick, 0, 0, 0.2);
  }
}
