// Unmounts whatever is still mounted under a directory (deepest first), so that the benchmark can
// remove its work directory even when a peer was interrupted in the middle of an unpack.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Mount points at or under `dir`, from /proc/self/mountinfo (field 5, octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(prefix));
}

/** Unmounts them, deepest first; a busy one is detached lazily. Returns what could not be unmounted. */
export function unmountAllUnder(dir: string): string[] {
  const failed: string[] = [];
  for (const mp of mountsUnder(dir).sort((a, b) => b.length - a.length)) {
    if (spawnSync('umount', [mp], { stdio: 'ignore' }).status === 0) continue;
    if (spawnSync('umount', ['-l', mp], { stdio: 'ignore' }).status !== 0) failed.push(mp);
  }
  return failed;
}
