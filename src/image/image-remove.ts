// `rmi` and `image prune`: remove names, then collect what no name or container still needs.
import { precondition } from '../oci/errors.ts';
import { quote } from '../oci/quote.ts';
import { chainIds } from '../oci/image-chain-id.ts';
import type { ImageStore } from './image-store.ts';
import { findImageRecord, resolveImage } from './image-resolve.ts';
import { collectGarbage, type GcResult } from './gc.ts';

/** Snapshot keys that active snapshots (containers) build on. */
function chainsInUse(store: ImageStore): Set<string> {
  const all = store.snapshots.walk();
  const byKey = new Map(all.map((s) => [s.key, s]));
  const used = new Set<string>();
  for (const s of all) {
    if (s.kind === 'committed') continue;
    for (let k = s.parent; k && !used.has(k); k = byKey.get(k)?.parent) used.add(k);
  }
  return used;
}

async function imageInUse(store: ImageStore, name: string, used: Set<string>): Promise<boolean> {
  try {
    const img = await resolveImage(store, name);
    const ids = chainIds(img.config.rootfs.diff_ids);
    return ids.length > 0 && used.has(ids[ids.length - 1]!);
  } catch {
    return false;
  }
}

export interface RemoveResult extends GcResult {
  untagged: string[];
}

/**
 * Removes image names. A digest or id removes every name pointing at it. An image whose rootfs a
 * container still uses is refused unless `force` (its snapshots stay until the container goes).
 */
export async function removeImages(store: ImageStore, inputs: readonly string[], opts: { force?: boolean } = {}): Promise<RemoveResult> {
  store.releaseSpaceReserveIfLow();
  const used = chainsInUse(store);
  const untagged: string[] = [];
  for (const input of inputs) {
    const rec = findImageRecord(store, input);
    const byId = /^(sha256:)?[a-f0-9]{12,64}$/.test(input);
    const names = byId ? store.records.byDigest(rec.digest).map((r) => r.name) : [rec.name];
    if (!opts.force && (await imageInUse(store, rec.name, used)) && store.records.byDigest(rec.digest).length === names.length) {
      throw precondition(`image ${quote(input)} is in use by a container (use --force to untag anyway)`, { field: 'image' });
    }
    for (const n of names) if (store.records.delete(n)) untagged.push(n);
  }
  return { untagged, ...(await collectGarbage(store)) };
}

/** `image prune`: unreferenced content; with `all`, also every image no container uses. */
export async function pruneImages(store: ImageStore, opts: { all?: boolean } = {}): Promise<RemoveResult> {
  store.releaseSpaceReserveIfLow();
  const untagged: string[] = [];
  if (opts.all) {
    const used = chainsInUse(store);
    for (const r of store.records.list()) {
      if (!(await imageInUse(store, r.name, used)) && store.records.delete(r.name)) untagged.push(r.name);
    }
  }
  return { untagged, ...(await collectGarbage(store, { staleIngestMs: 0 })) };
}
