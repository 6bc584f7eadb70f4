// Leases protect what an in-flight operation has written (blobs, snapshots) from a concurrent GC in
// this or another process until the operation records an image that references it.
import { randomUUID } from 'node:crypto';
import type { Db } from './metadata-db.ts';

export interface Lease {
  readonly id: string;
  addBlob(digest: string): void;
  addSnapshot(key: string): void;
  release(): void;
}

export const DEFAULT_LEASE_MS = 24 * 60 * 60 * 1000;

export function createLease(db: Db, ttlMs = DEFAULT_LEASE_MS): Lease {
  const id = randomUUID();
  const now = Date.now();
  db.prepare('INSERT INTO leases (id, pid, created_at, expires_at) VALUES (?, ?, ?, ?)').run(id, process.pid, now, now + ttlMs);
  const add = db.prepare('INSERT OR IGNORE INTO lease_resources (lease_id, kind, key) VALUES (?, ?, ?)');
  return {
    id,
    addBlob: (digest) => void add.run(id, 'blob', digest),
    addSnapshot: (key) => void add.run(id, 'snapshot', key),
    release: () => void db.prepare('DELETE FROM leases WHERE id = ?').run(id),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resources held by live leases; leases that expired or whose process died are removed first. */
export function leasedResources(db: Db): { blobs: Set<string>; snapshots: Set<string> } {
  const now = Date.now();
  const leases = db.prepare('SELECT id, pid, expires_at FROM leases').all() as { id: string; pid: number; expires_at: number }[];
  const drop = db.prepare('DELETE FROM leases WHERE id = ?');
  for (const l of leases) if (l.expires_at < now || !alive(l.pid)) drop.run(l.id);
  const rows = db.prepare('SELECT kind, key FROM lease_resources').all() as { kind: string; key: string }[];
  const blobs = new Set<string>();
  const snapshots = new Set<string>();
  for (const r of rows) (r.kind === 'blob' ? blobs : snapshots).add(r.key);
  return { blobs, snapshots };
}
