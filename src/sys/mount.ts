// mount(2) and umount2(2) through libc. `mountFrom` runs the mount with the working directory set
// to `cwd`, so that overlay options can list lower directories by short relative paths (the whole
// option string must fit in one page); it runs in berth-spawn, as Node's process.chdir would move
// the working directory of every thread and pending relative path of this process.
import { BerthError } from '../oci/errors.ts';
import { SpawnSession, spawnError } from './berth-spawn.ts';
import { libc, errnoError } from './libc.ts';
import type { Plan } from './plan-ops.ts';

const mountC = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
const umount2C = libc.func('int umount2(const char *target, int flags)');

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MNT_DETACH = 0x2;

export function mount(source: string, target: string, fstype: string | null, flags: number, data: string | null): void {
  if (mountC(source, target, fstype, flags, data) !== 0) throw errnoError(`mount ${fstype ?? 'bind'}`, target);
}

/**
 * mount(2) run from inside `cwd` (relative paths in `data` resolve there) by a short-lived
 * berth-spawn in this process's mount namespace; `target` must be absolute.
 */
export async function mountFrom(cwd: string, source: string, target: string, fstype: string | null, flags: number, data: string | null): Promise<void> {
  const plan: Plan = [
    { kind: 'chdir', path: cwd, origin: 'mount directory' },
    { kind: 'mount', source, target, fstype, flags, data, inRoot: false, origin: `mount ${fstype ?? 'bind'} on ${target}` },
  ];
  const session = new SpawnSession(plan, { stdio: ['ignore', 'ignore', 'inherit'] });
  let failure: Error | undefined;
  for (;;) {
    const m = await session.next();
    if (m.type === 'error') failure ??= spawnError(plan, m);
    if (m.type === 'done' || m.type === 'eof') break;
  }
  const status = await session.exited;
  if (failure) throw failure;
  if (status.code !== 0) {
    throw new BerthError('internal', `mount ${fstype ?? 'bind'} on ${target}: berth-spawn ended with ${status.code ?? status.signal}`, { path: target, op: 'mount' });
  }
}

export function umount(target: string, flags = 0): void {
  if (umount2C(target, flags) !== 0) throw errnoError('umount', target);
}
