// Garbage collection: blobs not reachable from an image name (through the recorded content graph)
// or a live lease are deleted; committed snapshots not in the chain of a kept image and not below
// an active snapshot (a container's rootfs) are removed, and so are extraction snapshots of pulls
// that died; orphaned snapshot dirs and abandoned ingests go too. Safe against a concurrent pull:
// its lease keeps what it wrote. The bytes it reports freed are the blocks the removed files held.
import type { Digest } from '../oci/digest.ts';
import { parseImageConfig, parseManifest } from '../oci/image-parse.ts';
import { chainIds } from '../oci/image-chain-id.ts';
import type { ImageStore } from './image-store.ts';
import { isStaleExtraction, liveLeases } from './leases.ts';
import { removeTree } from './overlay-snapshotter.ts';
import { allocatedBytes } from './free-space.ts';
import { BuildCache } from './build-cache.ts';

export interface GcResult {
  blobsRemoved: number;
  snapshotsRemoved: number;
  bytesFreed: number;
}

/** Ingests untouched for this long whose writer is gone are removed. */
/** Key prefix of the snapshots `berth build` steps work in (leased while the build runs). */
export const BUILD_PREFIX = 'build-';

export const STALE_INGEST_MS = 60 * 60 * 1000;

/**
 * Removes the extraction snapshots of operations that died (a pull killed mid-unpack) and their
 * leases; runs before every extraction, so that killed pulls do not pile up until a prune.
 */
export async function removeStaleExtractions(store: ImageStore): Promise<{ snapshotsRemoved: number; bytesFreed: number }> {
  const live = liveLeases(store.db);
  const out = { snapshotsRemoved: 0, bytesFreed: 0 };
  for (const s of store.snapshots.walk()) {
    if (s.kind === 'committed' || !isStaleExtraction(s.key, live)) continue;
    out.bytesFreed += await store.snapshots.remove(s.key);
    out.snapshotsRemoved++;
  }
  return out;
}

export async function collectGarbage(store: ImageStore, opts: { staleIngestMs?: number } = {}): Promise<GcResult> {
  const leased = liveLeases(store.db);
  // Build cache records hold their layers (blob and snapshot) like a lease without an end.
  const cached = new BuildCache(store.db).roots();
  for (const b of cached.blobs) leased.blobs.add(b);
  for (const s of cached.snapshots) leased.snapshots.add(s);
  const reachable = new Set<string>(leased.blobs);
  const queue: string[] = [...store.records.list().map((r) => r.digest), ...leased.blobs];
  while (queue.length) {
    const d = queue.pop()!;
    if (reachable.has(d) && !leased.blobs.has(d)) continue;
    reachable.add(d);
    for (const c of store.records.children(d as Digest)) if (!reachable.has(c)) queue.push(c);
  }
  // Snapshot chains of every reachable manifest.
  const keepSnapshots = new Set<string>(leased.snapshots);
  for (const d of reachable) {
    const children = store.records.children(d as Digest);
    if (children.length === 0) continue;
    try {
      const m = parseManifest(await store.content.readBlob(d as Digest));
      const config = parseImageConfig(await store.content.readBlob(m.config.digest));
      for (const id of chainIds(config.rootfs.diff_ids)) keepSnapshots.add(id);
    } catch {
      // An index, or a document that is not a manifest: it has no snapshot chain of its own.
    }
  }
  const result: GcResult = { blobsRemoved: 0, snapshotsRemoved: 0, bytesFreed: 0 };
  for await (const b of store.content.walk()) {
    if (reachable.has(b.digest)) continue;
    const bytes = allocatedBytes(store.content.blobPath(b.digest));
    if (await store.content.delete(b.digest)) {
      store.records.forgetBlob(b.digest);
      result.blobsRemoved++;
      result.bytesFreed += bytes;
    }
  }
  // Ancestors of kept or active snapshots stay; remove the rest, leaves first.
  const all = store.snapshots.walk();
  const byKey = new Map(all.map((s) => [s.key, s]));
  const keep = new Set<string>();
  for (const s of all) {
    // An extract-* snapshot no live lease owns is what a killed pull left, a build-* one unleased
    // what a killed build left; containers' active snapshots stay.
    const abandoned = isStaleExtraction(s.key, leased) || (s.key.startsWith(BUILD_PREFIX) && !leased.snapshots.has(s.key));
    if ((s.kind !== 'committed' && !abandoned) || keepSnapshots.has(s.key)) {
      for (let k: string | undefined = s.key; k && !keep.has(k); k = byKey.get(k)?.parent) keep.add(k);
    }
  }
  let removable = all.filter((s) => !keep.has(s.key));
  while (removable.length) {
    const parents = new Set(removable.map((s) => s.parent).filter(Boolean));
    const leaves = removable.filter((s) => !parents.has(s.key));
    if (leaves.length === 0) break;
    for (const s of leaves) {
      result.bytesFreed += await store.snapshots.remove(s.key);
      result.snapshotsRemoved++;
    }
    const gone = new Set(leaves.map((s) => s.key));
    removable = removable.filter((s) => !gone.has(s.key));
  }
  for (const dir of await store.snapshots.orphanDirs()) {
    result.bytesFreed += allocatedBytes(dir);
    await removeTree(dir);
  }
  const staleBefore = Date.now() - (opts.staleIngestMs ?? STALE_INGEST_MS);
  for (const ing of await store.content.ingests()) {
    if (ing.updatedAt >= staleBefore || (await store.content.ingestLocked(ing.ref))) continue;
    result.bytesFreed += allocatedBytes(store.content.ingestPath(ing.ref));
    await store.content.abortIngest(ing.ref);
  }
  store.keepSpaceReserve();
  return result;
}
