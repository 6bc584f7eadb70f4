// Signal names and numbers as `kill` accepts them: "KILL", "SIGKILL", "9".

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
