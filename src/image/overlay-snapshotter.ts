// Snapshots on overlayfs (containerd's snapshotter verbs: prepare, view, commit, mounts, remove,
// walk). Each snapshot is <root>/snapshots/<id>/{fs,work}; records and parent links live in the
// metadata database. A committed snapshot is immutable and is named by its layer chain id.
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, alreadyExists, fromSystemError, notFound, precondition } from '../oci/errors.ts';
import type { Db } from './metadata-db.ts';
import { overlayMountSpec, type MountSpec } from './mount-spec.ts';
import { PRIVATE_DIR_MODE } from './store-permissions.ts';
import { allocatedBytes } from './free-space.ts';

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotInfo {
  key: string;
  id: number;
  parent?: string;
  kind: SnapshotKind;
  createdAt: number;
}

interface Row {
  id: number;
  key: string;
  parent_id: number | null;
  kind: SnapshotKind;
  created_at: number;
}

export interface Snapshotter {
  stat(key: string): SnapshotInfo | undefined;
  prepare(key: string, parent?: string): Promise<MountSpec>;
  view(key: string, parent: string): Promise<MountSpec>;
  mounts(key: string): MountSpec;
  /** Commits an active snapshot as `name`; `parent` (committed) may be given when the active one was prepared without it. */
  commit(name: string, key: string, parent?: string): Promise<void>;
  /** Returns the bytes its files took (what removing them gave back). */
  remove(key: string): Promise<number>;
  walk(): SnapshotInfo[];
  /** The directory holding the snapshot's own files (the upper dir of an active snapshot). */
  contentDir(key: string): string;
}

export class OverlaySnapshotter implements Snapshotter {
  readonly snapshotsDir: string;

  constructor(
    root: string,
    private readonly db: Db,
    private readonly maxOptionBytes?: number,
  ) {
    this.snapshotsDir = join(root, 'snapshots');
  }

  private row(key: string): Row | undefined {
    return this.db.prepare('SELECT * FROM snapshots WHERE key = ?').get(key) as Row | undefined;
  }

  private rowById(id: number): Row | undefined {
    return this.db.prepare('SELECT * FROM snapshots WHERE id = ?').get(id) as Row | undefined;
  }

  private info(r: Row): SnapshotInfo {
    const out: SnapshotInfo = { key: r.key, id: r.id, kind: r.kind, createdAt: r.created_at };
    if (r.parent_id !== null) out.parent = this.rowById(r.parent_id)?.key;
    return out;
  }

  stat(key: string): SnapshotInfo | undefined {
    const r = this.row(key);
    return r ? this.info(r) : undefined;
  }

  private require(key: string): Row {
    const r = this.row(key);
    if (!r) throw notFound(`snapshot ${key} not found`, { field: 'snapshot' });
    return r;
  }

  /** Ids from `r`'s parent to the chain's base, topmost first. */
  private lowerIds(r: Row): number[] {
    const ids: number[] = [];
    let parent = r.parent_id;
    while (parent !== null) {
      ids.push(parent);
      const p = this.rowById(parent);
      if (!p) throw new BerthError('internal', `snapshot ${r.key}: parent ${parent} is missing from the database`);
      parent = p.parent_id;
      if (ids.length > 10000) throw new BerthError('internal', `snapshot ${r.key}: parent chain loops`);
    }
    return ids;
  }

  contentDir(key: string): string {
    return join(this.snapshotsDir, String(this.require(key).id), 'fs');
  }

  private async create(key: string, parent: string | undefined, kind: 'active' | 'view'): Promise<MountSpec> {
    const insert = this.db.transaction(() => {
      if (this.row(key)) throw alreadyExists(`snapshot ${key} already exists`, { field: 'snapshot' });
      let parentId: number | null = null;
      if (parent !== undefined) {
        const p = this.require(parent);
        if (p.kind !== 'committed') throw precondition(`snapshot ${parent} is not committed and cannot be a parent`, { field: 'parent' });
        parentId = p.id;
      }
      const res = this.db
        .prepare('INSERT INTO snapshots (key, parent_id, kind, created_at) VALUES (?, ?, ?, ?)')
        .run(key, parentId, kind, Date.now());
      return Number(res.lastInsertRowid);
    });
    const id = insert.immediate();
    const dir = join(this.snapshotsDir, String(id));
    try {
      // snapshots/ and snapshots/N are private (store-permissions.ts); fs is the layer's "/".
      await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
      await fs.mkdir(join(dir, 'fs'), { recursive: true, mode: 0o755 });
      if (kind === 'active') await fs.mkdir(join(dir, 'work'), { mode: 0o700 });
    } catch (err) {
      this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id);
      await fs.rm(dir, { recursive: true, force: true });
      throw fromSystemError(err, 'mkdir', dir);
    }
    return this.mounts(key);
  }

  prepare(key: string, parent?: string): Promise<MountSpec> {
    return this.create(key, parent, 'active');
  }

  view(key: string, parent: string): Promise<MountSpec> {
    return this.create(key, parent, 'view');
  }

  mounts(key: string): MountSpec {
    const r = this.require(key);
    const lowerIds = this.lowerIds(r);
    if (r.kind === 'active') return overlayMountSpec({ snapshotsDir: this.snapshotsDir, lowerIds, upperId: r.id }, this.maxOptionBytes);
    if (r.kind === 'committed') lowerIds.unshift(r.id);
    return overlayMountSpec({ snapshotsDir: this.snapshotsDir, lowerIds }, this.maxOptionBytes);
  }

  async commit(name: string, key: string, parent?: string): Promise<void> {
    const r = this.db.transaction(() => {
      const row = this.require(key);
      if (row.kind !== 'active') throw precondition(`snapshot ${key} is not active and cannot be committed`, { field: 'snapshot' });
      if (this.row(name)) throw alreadyExists(`snapshot ${name} already exists`, { field: 'snapshot' });
      let parentId = row.parent_id;
      if (parent !== undefined) {
        if (row.parent_id !== null) throw precondition(`snapshot ${key} already has a parent`, { field: 'parent' });
        const p = this.require(parent);
        if (p.kind !== 'committed') throw precondition(`snapshot ${parent} is not committed and cannot be a parent`, { field: 'parent' });
        parentId = p.id;
      }
      this.db.prepare("UPDATE snapshots SET key = ?, kind = 'committed', parent_id = ? WHERE id = ?").run(name, parentId, row.id);
      return row;
    }).immediate();
    // The work dir only serves a mounted upper; a committed layer never is one again.
    await fs.rm(join(this.snapshotsDir, String(r.id), 'work'), { recursive: true, force: true });
  }

  async remove(key: string): Promise<number> {
    const current = this.require(key);
    const dir = join(this.snapshotsDir, String(current.id));
    const bytes = allocatedBytes(dir);
    if (current.kind !== 'committed') {
      // An active or view snapshot (an extraction, a container's upper) has no children and nothing
      // refers to its files: they go first, so that on a full disk their space is back before the
      // database has to record the removal.
      await removeTree(dir);
    }
    const r = this.db.transaction(() => {
      const row = this.require(key);
      const child = this.db.prepare('SELECT key FROM snapshots WHERE parent_id = ? LIMIT 1').get(row.id) as { key: string } | undefined;
      if (child) throw precondition(`snapshot ${key} has a child snapshot (${child.key}) and cannot be removed`, { field: 'snapshot' });
      this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(row.id);
      return row;
    }).immediate();
    await removeTree(join(this.snapshotsDir, String(r.id)));
    return bytes;
  }

  walk(): SnapshotInfo[] {
    return (this.db.prepare('SELECT * FROM snapshots ORDER BY id').all() as Row[]).map((r) => this.info(r));
  }

  /** Directories under snapshots/ that no record owns (left by a crash); removed by GC. */
  async orphanDirs(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.snapshotsDir);
    } catch {
      return [];
    }
    const ids = new Set((this.db.prepare('SELECT id FROM snapshots').all() as { id: number }[]).map((r) => String(r.id)));
    return names.filter((n) => /^\d+$/.test(n) && !ids.has(n)).map((n) => join(this.snapshotsDir, n));
  }
}

/** Removes a snapshot directory; immutable or append-only attributes are not expected here. */
export async function removeTree(dir: string): Promise<void> {
  try {
    await fs.rm(dir, { recursive: true, force: true });
  } catch (err) {
    throw fromSystemError(err, 'remove', dir);
  }
}
