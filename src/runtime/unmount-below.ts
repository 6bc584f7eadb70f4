// A container without a mount namespace mounts into the runtime's own mount table (runtime-spec:
// the namespace is inherited). runc leaves those mounts behind; berth removes the ones the
// container made (not those that were there before create) at delete.

import { readFileSync } from 'node:fs';
import { SpawnSession, spawnError } from '../sys/berth-spawn.ts';
import type { Plan } from '../sys/plan-ops.ts';
import { parseMountinfo, type MountinfoEntry } from './cgroups/index.ts';

const MNT_DETACH = 2;

/** Mounts strictly below dir, the most recently mounted first (the order to unmount). */
export function mountsBelow(entries: readonly MountinfoEntry[], dir: string): MountinfoEntry[] {
  const prefix = `${dir.replace(/\/+$/, '')}/`;
  return entries.filter((e) => e.mountpoint.startsWith(prefix)).reverse();
}

function readMountinfo(): MountinfoEntry[] {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** The mounts below dir now, the most recently mounted first. */
export function mountsBelowNow(dir: string): MountinfoEntry[] {
  return mountsBelow(readMountinfo(), dir);
}

/** Ids of the mounts below dir now. */
export function mountIdsBelow(dir: string): number[] {
  return mountsBelowNow(dir).map((e) => e.id);
}

/** Unmounts (detached) every mount below dir except those listed. */
export async function unmountBelow(dir: string, keep: readonly number[] = []): Promise<void> {
  const targets = mountsBelow(readMountinfo(), dir).filter((e) => !keep.includes(e.id));
  if (!targets.length) return;
  const plan: Plan = targets.map((e) => ({ kind: 'umount', path: e.mountpoint, flags: MNT_DETACH, origin: 'mounts' }));
  const session = new SpawnSession(plan, { stdio: ['ignore', 'inherit', 'inherit'] });
  for (;;) {
    const m = await session.next();
    if (m.type === 'error') throw spawnError(plan, m);
    if (m.type === 'done' || m.type === 'eof') break;
  }
  await session.exited;
}
