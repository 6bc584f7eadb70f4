// Image names -> target descriptor (manifest or index digest), plus the content graph and blob
// labels that GC and push use. Backed by the metadata database.
import type { Db } from './metadata-db.ts';
import { notFound } from '../oci/errors.ts';
import { quote } from '../oci/quote.ts';
import type { Digest } from '../oci/digest.ts';

export interface ImageRecord {
  /** Fully qualified reference: `docker.io/library/busybox:latest` or `host/x@sha256:...`. */
  name: string;
  digest: Digest;
  mediaType: string;
  size: number;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  name: string;
  digest: string;
  media_type: string;
  size: number;
  created_at: number;
  updated_at: number;
}

const toRecord = (r: Row): ImageRecord => ({
  name: r.name,
  digest: r.digest as Digest,
  mediaType: r.media_type,
  size: r.size,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class ImageRecords {
  constructor(private readonly db: Db) {}

  get(name: string): ImageRecord | undefined {
    const row = this.db.prepare('SELECT * FROM images WHERE name = ?').get(name) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  require(name: string): ImageRecord {
    const r = this.get(name);
    if (!r) throw notFound(`image ${quote(name)} not found`, { field: 'image' });
    return r;
  }

  list(): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images ORDER BY name').all() as Row[]).map(toRecord);
  }

  byDigest(digest: Digest): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images WHERE digest = ? ORDER BY name').all(digest) as Row[]).map(toRecord);
  }

  /** Creates or moves a name to a target (as `docker tag` and a re-pull do). */
  put(rec: { name: string; digest: Digest; mediaType: string; size: number }): ImageRecord {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO images (name, digest, media_type, size, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET digest = excluded.digest, media_type = excluded.media_type,
           size = excluded.size, updated_at = excluded.updated_at`,
      )
      .run(rec.name, rec.digest, rec.mediaType, rec.size, now, now);
    return this.require(rec.name);
  }

  delete(name: string): boolean {
    return this.db.prepare('DELETE FROM images WHERE name = ?').run(name).changes > 0;
  }

  addRefs(parent: Digest, children: readonly Digest[]): void {
    const stmt = this.db.prepare('INSERT OR IGNORE INTO blob_refs (parent, child) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const c of children) stmt.run(parent, c);
    })();
  }

  children(parent: Digest): Digest[] {
    return (this.db.prepare('SELECT child FROM blob_refs WHERE parent = ?').all(parent) as { child: string }[]).map((r) => r.child as Digest);
  }

  setLabel(digest: Digest, key: string, value: string): void {
    this.db.prepare('INSERT INTO blob_labels (digest, key, value) VALUES (?, ?, ?) ON CONFLICT(digest, key) DO UPDATE SET value = excluded.value').run(digest, key, value);
  }

  labels(digest: Digest): Record<string, string> {
    const rows = this.db.prepare('SELECT key, value FROM blob_labels WHERE digest = ?').all(digest) as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  /** Drops graph edges and labels of blobs that are gone. */
  forgetBlob(digest: Digest): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM blob_refs WHERE parent = ?').run(digest);
      this.db.prepare('DELETE FROM blob_labels WHERE digest = ?').run(digest);
    })();
  }
}
