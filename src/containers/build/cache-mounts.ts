// `RUN --mount=type=cache`: a directory of the store that outlives builds, one per cache id
// (the target path by default), bind-mounted into the RUN. Created on first use with the mount's
// uid, gid and mode (root, 0755 by default). Sharing, as BuildKit defines it:
//  - shared (default): every RUN using the id at the same time gets the same directory;
//  - locked: RUNs using the id take turns (within one berth process; builds in two processes
//    that use the same id at once share it as with `shared`);
//  - private: a RUN that finds the id in use gets a fresh directory of its own, dropped after.
// Removed with `berth image prune --build-cache`.
import { createHash, randomUUID } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError, unimplemented } from '../../oci/errors.ts';
import type { PlannedMount } from '../../image/build/plan-types.ts';
import { PRIVATE_DIR_MODE } from '../../image/store-permissions.ts';
import type { RunMountSource } from './run-step.ts';

export const cacheMountsDir = (storeRoot: string): string => join(storeRoot, 'build-cache', 'mounts');

export class CacheMounts {
  private readonly inUse = new Map<string, number>();
  private readonly locks = new Map<string, Promise<void>>();

  constructor(private readonly dir: string) {}

  private makeDir(path: string, m: PlannedMount): void {
    if (existsSync(path)) return;
    try {
      mkdirSync(path, { mode: 0o755 });
      chmodSync(path, m.mode ?? 0o755);
      if ((m.uid ?? 0) !== 0 || (m.gid ?? 0) !== 0) chownSync(path, m.uid ?? 0, m.gid ?? 0);
    } catch (err) {
      throw fromSystemError(err, 'mkdir', path);
    }
  }

  async acquire(m: PlannedMount): Promise<RunMountSource> {
    if (m.sourceRef) throw unimplemented('RUN --mount=type=cache,from=...: seeding a cache from a stage is not supported by berth build yet', { field: '--mount' });
    const id = m.id ?? m.target;
    // The directory name digests the id (any text) and the owner it was created for.
    const name = createHash('sha256').update(JSON.stringify([id, m.uid ?? 0, m.gid ?? 0, m.mode ?? 0o755])).digest('hex');
    mkdirSync(this.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const path = join(this.dir, name);
    const count = this.inUse.get(name) ?? 0;
    if (m.sharing === 'private' && count > 0) {
      const own = join(this.dir, `private-${randomUUID()}`);
      this.makeDir(own, m);
      return { path: own, release: async () => rmSync(own, { recursive: true, force: true }) };
    }
    let unlock: (() => void) | undefined;
    if (m.sharing === 'locked') {
      for (let held = this.locks.get(name); held; held = this.locks.get(name)) await held;
      this.locks.set(name, new Promise<void>((r) => (unlock = r)));
    }
    this.makeDir(path, m);
    this.inUse.set(name, (this.inUse.get(name) ?? 0) + 1);
    return {
      path,
      release: async () => {
        this.inUse.set(name, (this.inUse.get(name) ?? 1) - 1);
        if (unlock) {
          this.locks.delete(name);
          unlock();
        }
      },
    };
  }
}
