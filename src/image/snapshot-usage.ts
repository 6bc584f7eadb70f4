// Disk usage of the snapshots directory, as du counts it: allocated blocks and inodes (a file with
// several hard links once). A committed snapshot never changes, so its usage is measured once per
// process; active snapshots (containers' writable layers) are measured on every call.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fromSystemError } from '../oci/errors.ts';
import type { ImageStore } from './image-store.ts';

export interface DiskUsage {
  bytes: number;
  inodes: number;
}

/** Usage of a directory tree, not following symlinks or crossing into other entries twice. */
export async function treeUsage(dir: string, seen: Set<string> = new Set()): Promise<DiskUsage> {
  const total: DiskUsage = { bytes: 0, inodes: 0 };
  const visit = async (path: string): Promise<void> => {
    let st;
    try {
      st = await lstat(path, { bigint: true });
    } catch (err) {
      // Removed while we walked (a container going away): it no longer uses anything.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fromSystemError(err, 'lstat', path);
    }
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    total.bytes += Number(st.blocks) * 512;
    total.inodes += 1;
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = await readdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fromSystemError(err, 'readdir', path);
    }
    // One directory's entries at a time: bounded parallelism, however wide the tree.
    for (let i = 0; i < names.length; i += 64) await Promise.all(names.slice(i, i + 64).map((n) => visit(join(path, n))));
  };
  await visit(dir);
  return total;
}

export class SnapshotUsage {
  /** `<id>:<key>` of committed snapshots -> their usage. */
  private readonly committed = new Map<string, DiskUsage>();

  constructor(private readonly store: ImageStore) {}

  get dir(): string {
    return this.store.snapshots.snapshotsDir;
  }

  /** A container's writable layer: the own files of its active snapshot `key` (NotFound when there is no such snapshot). */
  async writableLayer(key: string): Promise<DiskUsage> {
    return treeUsage(this.store.snapshots.contentDir(key));
  }

  async total(): Promise<DiskUsage> {
    const snapshots = new Map(this.store.snapshots.walk().map((s) => [String(s.id), s]));
    let names: string[];
    let top: DiskUsage;
    try {
      const st = await lstat(this.dir, { bigint: true });
      top = { bytes: Number(st.blocks) * 512, inodes: 1 };
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { bytes: 0, inodes: 0 };
      throw fromSystemError(err, 'readdir', this.dir);
    }
    const live = new Set<string>();
    for (const name of names) {
      const s = snapshots.get(name);
      const cacheKey = s?.kind === 'committed' ? `${s.id}:${s.key}` : undefined;
      let usage = cacheKey ? this.committed.get(cacheKey) : undefined;
      if (!usage) {
        usage = await treeUsage(join(this.dir, name));
        if (cacheKey) this.committed.set(cacheKey, usage);
      }
      if (cacheKey) live.add(cacheKey);
      top.bytes += usage.bytes;
      top.inodes += usage.inodes;
    }
    for (const k of this.committed.keys()) if (!live.has(k)) this.committed.delete(k);
    return top;
  }
}
