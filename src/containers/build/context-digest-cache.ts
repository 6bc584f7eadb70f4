// Content digests of context files kept between builds of the same context directory, so that a
// rebuild reads only the files whose stat changed (size, mtime, ctime, inode), as BuildKit's
// content-hash cache does. One JSON file per context directory in the store's build cache;
// dropped with the rest of the build cache.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../oci/digest.ts';
import type { DigestCache } from '../../image/build/context-walk.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../image/store-permissions.ts';

export const contextDigestsDir = (storeRoot: string): string => join(storeRoot, 'build-cache', 'contexts');

type Entries = Record<string, [string, Digest]>;

export class ContextDigestCache implements DigestCache {
  private readonly file: string;
  private readonly old: Entries;
  private readonly current: Entries = {};
  private changed = false;

  constructor(storeRoot: string, contextDir: string) {
    const dir = contextDigestsDir(storeRoot);
    this.file = join(dir, `${createHash('sha256').update(contextDir).digest('hex')}.json`);
    try {
      this.old = JSON.parse(readFileSync(this.file, 'utf8')) as Entries;
    } catch {
      this.old = {};
    }
  }

  lookup(path: string, statKey: string): Digest | undefined {
    const e = this.old[path];
    if (e && e[0] === statKey) {
      this.current[path] = e;
      return e[1];
    }
    return undefined;
  }

  store(path: string, statKey: string, digest: Digest): void {
    this.current[path] = [statKey, digest];
    this.changed = true;
  }

  /** Writes what this walk saw (files gone since are forgotten). */
  save(): void {
    if (!this.changed && Object.keys(this.current).length === Object.keys(this.old).length) return;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true, mode: PRIVATE_DIR_MODE });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.current), { mode: PRIVATE_FILE_MODE });
      renameSync(tmp, this.file);
    } catch {
      // Only a speed-up: the next build reads the files again.
    }
  }
}
