// Signals: names and numbers as `kill` accepts them ("KILL", "SIGKILL", "9"), the exit status of
// a process a signal ended (128 + its number, as shells and runc report it), and the signals a
// foreground runtime passes on to the container.

import { constants } from 'node:os';
import { invalid } from '../oci/errors.ts';

export function resolveSignal(value: string): number {
  const v = value.trim().toUpperCase();
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n >= 0 && n <= 64) return n; // 0 probes that the process exists
  } else {
    const name = (v.startsWith('SIG') ? v : `SIG${v}`) as NodeJS.Signals;
    const n = constants.signals[name];
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
    if (rt && 34 + Number(rt[1] ?? 0) <= 64) return 34 + Number(rt[1] ?? 0);
  }
  throw invalid(`unknown signal "${value}"`, { field: 'signal' });
}

/** An exit code, or 128 + the number of the signal that ended the process; 255 when neither is known. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? 128 + constants.signals[signal] : 255;
}

/** What a foreground `run` or `exec` passes on to the container's process (as runc does). */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** Where a caller's signals come from: subscribe a listener, get its unsubscribe back (the CLI gives process.on). */
export type SignalSource = (listener: (signal: NodeJS.Signals) => void) => () => void;
