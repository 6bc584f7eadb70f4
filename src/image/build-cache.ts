// berth build's step cache, in the metadata database: a step's cache key (build/cache-key.ts) ->
// the layer the step made (blob descriptor, diff_id, the chain id of its snapshot) and the time
// recorded in the image history for it. Records are GC roots: their blobs and snapshots stay
// until `berth image prune --build-cache` drops the records.
import type { Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/image-spec.ts';
import type { Db } from './metadata-db.ts';

export interface BuildCacheRecord {
  key: Digest;
  /** The snapshot key (layer chain id) of the step's result. */
  chainId: Digest;
  diffId: Digest;
  layer: Descriptor;
  /** The history `created` of the step, reused on a hit so a cached rebuild gives the same image. */
  created: string;
}

interface Row {
  key: string;
  chain_id: string;
  diff_id: string;
  layer_digest: string;
  layer_media_type: string;
  layer_size: number;
  created: string;
}

const toRecord = (r: Row): BuildCacheRecord => ({
  key: r.key as Digest,
  chainId: r.chain_id as Digest,
  diffId: r.diff_id as Digest,
  layer: { mediaType: r.layer_media_type, digest: r.layer_digest as Digest, size: r.layer_size },
  created: r.created,
});

export class BuildCache {
  constructor(private readonly db: Db) {}

  get(key: Digest): BuildCacheRecord | undefined {
    const row = this.db.prepare('SELECT * FROM build_cache WHERE key = ?').get(key) as Row | undefined;
    if (!row) return undefined;
    this.db.prepare('UPDATE build_cache SET last_used = ? WHERE key = ?').run(Date.now(), key);
    return toRecord(row);
  }

  put(rec: BuildCacheRecord): void {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO build_cache (key, chain_id, diff_id, layer_digest, layer_media_type, layer_size, created, created_at, last_used)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET chain_id = excluded.chain_id, diff_id = excluded.diff_id, layer_digest = excluded.layer_digest,
           layer_media_type = excluded.layer_media_type, layer_size = excluded.layer_size, created = excluded.created, last_used = excluded.last_used`,
      )
      .run(rec.key, rec.chainId, rec.diffId, rec.layer.digest, rec.layer.mediaType, rec.layer.size, rec.created, now, now);
  }

  delete(key: Digest): void {
    this.db.prepare('DELETE FROM build_cache WHERE key = ?').run(key);
  }

  list(): BuildCacheRecord[] {
    return (this.db.prepare('SELECT * FROM build_cache ORDER BY created_at').all() as Row[]).map(toRecord);
  }

  /** Drops every record; returns how many there were. */
  clear(): number {
    return this.db.prepare('DELETE FROM build_cache').run().changes;
  }

  /** What the records keep alive: layer blobs and snapshot keys. */
  roots(): { blobs: Set<string>; snapshots: Set<string> } {
    const rows = this.db.prepare('SELECT chain_id, layer_digest FROM build_cache').all() as { chain_id: string; layer_digest: string }[];
    // A step that changed nothing has no layer: its record holds empty strings.
    return { blobs: new Set(rows.map((r) => r.layer_digest).filter(Boolean)), snapshots: new Set(rows.map((r) => r.chain_id).filter(Boolean)) };
  }
}
