// `berth-runtime ps`: the host's `ps` output, keeping the header and the container's processes.

import { execFileSync } from 'node:child_process';
import { BerthError } from '../../oci/errors.ts';

export function filterPsOutput(output: string, pids: readonly number[]): string {
  const lines = output.split('\n').filter(Boolean);
  const header = lines[0] ?? '';
  const pidColumn = header.trim().split(/\s+/).indexOf('PID');
  if (pidColumn < 0) throw new BerthError('invalid-argument', 'ps: the output has no PID column (keep it in the ps arguments)', { field: 'ps-args' });
  const wanted = new Set(pids);
  const rows = lines.slice(1).filter((l) => wanted.has(Number(l.trim().split(/\s+/)[pidColumn])));
  return [header, ...rows].join('\n') + '\n';
}

export function psTable(args: string[], pids: readonly number[]): string {
  let out: string;
  try {
    out = execFileSync('ps', args, { encoding: 'utf8' });
  } catch (err) {
    throw new BerthError('internal', `ps ${args.join(' ')}: ${(err as Error).message}`, { op: 'ps' });
  }
  return filterPsOutput(out, pids);
}
