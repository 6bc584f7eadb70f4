// Leases protect what an in-flight operation has written (blobs, snapshots) from a concurrent GC in
// this or another process until the operation records an image that references it. A lease names
// its owner (pid and start time): one whose process died is stale, and what it held goes at the
// next extraction or GC. Extraction snapshots carry their lease's id in their key, so that they
// are owned from the moment they exist.
import { randomUUID } from 'node:crypto';
import type { Db } from './metadata-db.ts';
import { ownerAlive, thisProcess } from './process-owner.ts';

export interface Lease {
  readonly id: string;
  /** Adds resources in one transaction (keys of snapshots that do not exist yet may be added). */
  add(resources: { blobs?: readonly string[]; snapshots?: readonly string[] }): void;
  addBlob(digest: string): void;
  addSnapshot(key: string): void;
  release(): void;
}

export const DEFAULT_LEASE_MS = 24 * 60 * 60 * 1000;

/** Key prefix of the snapshots layers are extracted into (see unpack-image.ts). */
export const EXTRACT_PREFIX = 'extract-';

export function createLease(db: Db, ttlMs = DEFAULT_LEASE_MS): Lease {
  const id = randomUUID();
  const now = Date.now();
  const owner = thisProcess();
  db.prepare('INSERT INTO leases (id, pid, start_time, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(id, owner.pid, owner.startTime ?? null, now, now + ttlMs);
  const insert = db.prepare('INSERT OR IGNORE INTO lease_resources (lease_id, kind, key) VALUES (?, ?, ?)');
  const add = db.transaction((blobs: readonly string[], snapshots: readonly string[]) => {
    for (const b of blobs) insert.run(id, 'blob', b);
    for (const s of snapshots) insert.run(id, 'snapshot', s);
  });
  return {
    id,
    add: (r) => add.immediate(r.blobs ?? [], r.snapshots ?? []),
    addBlob: (digest) => void insert.run(id, 'blob', digest),
    addSnapshot: (key) => void insert.run(id, 'snapshot', key),
    release: () => void db.prepare('DELETE FROM leases WHERE id = ?').run(id),
  };
}

/** The key of a snapshot that lease `leaseId` extracts the layer with chain id `chainId` into. */
export function extractionKey(leaseId: string, chainId: string): string {
  return `${EXTRACT_PREFIX}${leaseId}-${randomUUID().slice(0, 8)}-${chainId}`;
}

export interface LiveLeases {
  ids: Set<string>;
  blobs: Set<string>;
  snapshots: Set<string>;
}

/** Live leases and what they hold; leases that expired or whose owner died are removed first. */
export function liveLeases(db: Db): LiveLeases {
  const now = Date.now();
  const leases = db.prepare('SELECT id, pid, start_time, expires_at FROM leases').all() as { id: string; pid: number; start_time: number | null; expires_at: number }[];
  const stale = leases.filter((l) => l.expires_at < now || !ownerAlive({ pid: l.pid, startTime: l.start_time ?? undefined }));
  if (stale.length > 0) {
    const drop = db.prepare('DELETE FROM leases WHERE id = ?');
    db.transaction(() => {
      for (const l of stale) drop.run(l.id);
    }).immediate();
  }
  const ids = new Set(leases.filter((l) => !stale.includes(l)).map((l) => l.id));
  const rows = db.prepare('SELECT kind, key FROM lease_resources').all() as { kind: string; key: string }[];
  const blobs = new Set<string>();
  const snapshots = new Set<string>();
  for (const r of rows) (r.kind === 'blob' ? blobs : snapshots).add(r.key);
  return { ids, blobs, snapshots };
}

/**
 * Whether `key` is an extraction snapshot no live operation owns: its lease (named in the key) is
 * gone and no live lease holds it by name (as earlier versions of berth recorded them).
 */
export function isStaleExtraction(key: string, live: LiveLeases): boolean {
  if (!key.startsWith(EXTRACT_PREFIX)) return false;
  const leaseId = key.slice(EXTRACT_PREFIX.length, EXTRACT_PREFIX.length + 36);
  return !live.ids.has(leaseId) && !live.snapshots.has(key);
}
