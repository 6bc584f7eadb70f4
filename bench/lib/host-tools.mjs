// Finding the programs a benchmark compares, and their version lines.
import { spawnSync } from 'node:child_process';
import { cleanEnv } from './timed-spawn.mjs';

/** The path of a program on PATH, or undefined. */
export function commandPath(name) {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The first line a program prints for `args` (e.g. --version), or '?'. */
export function firstLine(file, args) {
  const r = spawnSync(file, args, { encoding: 'utf8', env: cleanEnv(), stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : '?';
}
