// The metadata database (SQLite through better-sqlite3): images, the content reference graph,
// blob labels, snapshots and leases. A busy timeout lets `berth` and `berthd` share one store; every
// multi-row change runs in a transaction.
// The journal is a persistent rollback journal, not WAL, so that a full disk does not lock the
// store: in WAL mode a reader needs the -shm file, which SQLite cannot allocate on a full disk
// (`berth images` failed), while a rollback-journal reader writes nothing; and a persisted journal
// keeps its blocks, so the small deletes of `rmi` and `prune` reuse them instead of needing new
// space (image-store.ts keeps a little more in reserve for larger ones). Opening writes nothing
// either once the schema is current.
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../oci/errors.ts';

export type Db = Database.Database;

const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS images (
  name TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS images_digest ON images(digest);
-- Edges of the content graph (index -> manifest, manifest -> config and layers), for GC.
CREATE TABLE IF NOT EXISTS blob_refs (
  parent TEXT NOT NULL,
  child TEXT NOT NULL,
  PRIMARY KEY (parent, child)
) WITHOUT ROWID;
-- Free-form labels on blobs, e.g. the repositories a blob came from (for cross-repo mount on push)
-- and a layer's uncompressed digest.
CREATE TABLE IF NOT EXISTS blob_labels (
  digest TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (digest, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  parent_id INTEGER REFERENCES snapshots(id),
  kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_parent ON snapshots(parent_id);
-- A lease keeps blobs and snapshots alive while an operation (a pull) is in flight. Its owner is
-- the process pid that started at start_time (/proc/<pid>/stat).
CREATE TABLE IF NOT EXISTS leases (
  id TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  start_time INTEGER,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
-- berth build's step cache: a step's cache key -> the layer it made (see build-cache.ts).
CREATE TABLE IF NOT EXISTS build_cache (
  key TEXT PRIMARY KEY,
  chain_id TEXT NOT NULL,
  diff_id TEXT NOT NULL,
  layer_digest TEXT NOT NULL,
  layer_media_type TEXT NOT NULL,
  layer_size INTEGER NOT NULL,
  created TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lease_resources (
  lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('blob', 'snapshot')),
  key TEXT NOT NULL,
  PRIMARY KEY (lease_id, kind, key)
) WITHOUT ROWID;
`;

export function openMetadataDb(root: string): Db {
  const dir = root;
  const path = join(dir, 'metadata.db');
  try {
    mkdirSync(dir, { recursive: true });
    const db = new Database(path, { timeout: 15000 });
    // Before any journal exists: SQLite gives the journal file the database's mode.
    chmodSync(path, 0o600);
    useRollbackJournal(db);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      db.close();
      throw new BerthError('failed-precondition', `metadata database schema ${version} is newer than this berth (${SCHEMA_VERSION})`, { path });
    }
    if (version < SCHEMA_VERSION) {
      db.transaction(() => {
        // Read again under the write lock: another process may have upgraded it meanwhile.
        const current = db.pragma('user_version', { simple: true }) as number;
        if (current >= SCHEMA_VERSION) return;
        db.exec(SCHEMA);
        // Schema 2: leases record their owner's start time.
        if (current === 1) db.exec('ALTER TABLE leases ADD COLUMN start_time INTEGER');
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }).immediate();
    }
    return db;
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new BerthError('internal', `open metadata database: ${(err as Error).message}`, { path, op: 'open' }, { cause: err });
  }
}

/**
 * PERSIST: the journal file stays (its header zeroed) after each transaction. A store that an
 * earlier berth left in WAL mode is switched over when no other process has it open; until then it
 * works as before.
 */
function useRollbackJournal(db: Db): void {
  try {
    db.pragma('journal_mode = PERSIST');
  } catch (err) {
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
  }
}
