// Makes sure an image's layers exist as a committed snapshot chain (keys = layer chain ids).
// Layers extract in parallel, each into its own parentless active snapshot (overlay needs no parent
// content to unpack a layer); they are committed strictly in order, each onto the one below.
import { BerthError, unimplemented } from '../oci/errors.ts';
import { quote } from '../oci/quote.ts';
import type { Digest } from '../oci/digest.ts';
import { layerCompression, type Descriptor } from '../oci/image-spec.ts';
import { chainIds } from '../oci/image-chain-id.ts';
import type { ImageStore } from './image-store.ts';
import { createLayerUnpacker, type LayerUnpacker } from './unpack-pool.ts';
import { createLease, extractionKey, type Lease } from './leases.ts';
import type { ApplyLimits } from './layer-applier.ts';
import { removeStaleExtractions } from './gc.ts';

export interface LayerJob {
  descriptor: Descriptor;
  diffId: Digest;
}

export type LayerPhase = 'waiting' | 'exists' | 'downloading' | 'extracting' | 'verifying' | 'done';

export interface LayerProgress {
  digest: Digest;
  phase: LayerPhase;
  /** Compressed bytes received (downloading) or uncompressed bytes written (extracting). */
  current: number;
  total: number;
}

export interface EnsureOptions {
  concurrency?: number;
  /** Holds the snapshots made (the caller's until it records an image); a lease of its own by default. */
  lease?: Lease;
  onProgress?: (p: LayerProgress) => void;
  applyLimits?: ApplyLimits;
  /**
   * Provides layer i's compressed bytes when it must be extracted. Defaults to the content store.
   * `whenDone` runs after extraction (e.g. to commit the blob the bytes were also written to).
   */
  source?: (job: LayerJob, index: number) => Promise<LayerSource>;
  /** Runs for layers whose snapshot already exists (the pull still makes sure the blob is stored). */
  ensureBlob?: (job: LayerJob, index: number) => Promise<void>;
}

export interface LayerSource {
  stream: AsyncIterable<Uint8Array>;
  /** The stream is a download that reports its own progress: extraction is reported once it ends. */
  downloading?: boolean;
  whenDone?: () => Promise<void>;
  abort?: () => Promise<void>;
}

export function checkLayerMediaType(d: Descriptor, index: number): void {
  if (layerCompression(d.mediaType) === undefined) {
    throw unimplemented(`layer ${index} (${d.digest}) has unsupported media type ${quote(d.mediaType)}`, { field: `layers[${index}].mediaType` });
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep their order. */
export function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R>[] {
  const results: Promise<R>[] = [];
  let running = 0;
  const queue: Array<() => void> = [];
  const acquire = (): Promise<void> =>
    running < limit ? (running++, Promise.resolve()) : new Promise<void>((r) => queue.push(() => (running++, r())));
  const release = (): void => {
    running--;
    queue.shift()?.();
  };
  items.forEach((item, i) => {
    results.push(
      acquire().then(async () => {
        try {
          return await fn(item, i);
        } finally {
          release();
        }
      }),
    );
  });
  return results;
}

export async function ensureSnapshots(store: ImageStore, jobs: readonly LayerJob[], opts: EnsureOptions = {}): Promise<Digest[]> {
  jobs.forEach((j, i) => checkLayerMediaType(j.descriptor, i));
  const chain = chainIds(jobs.map((j) => j.diffId));
  const snaps = store.snapshots;
  if (!opts.ensureBlob && chain.every((id) => snaps.stat(id))) {
    // Every layer is unpacked (a container's create): no extraction, so no lease of its own, no
    // sweep of stale extractions (a walk of every snapshot) and no worker.
    opts.lease?.add({ snapshots: chain });
    for (const j of jobs) opts.onProgress?.({ digest: j.descriptor.digest, phase: 'exists', current: j.descriptor.size, total: j.descriptor.size });
    return chain;
  }
  const created: string[] = [];
  const failed = { value: false };
  const concurrency = opts.concurrency ?? 3;
  // Workers start only when a layer needs extracting; a bad BERTH_UNPACK_THREADS fails here, first.
  const unpacker: LayerUnpacker = createLayerUnpacker(concurrency);
  // What killed pulls left is removed first: it would only fill the disk.
  await removeStaleExtractions(store);
  const lease = opts.lease ?? createLease(store.db);
  // The chain's snapshots are held from the start; extraction snapshots by their key.
  lease.add({ snapshots: chain });

  const extract = async (job: LayerJob, i: number): Promise<string | undefined> => {
    const total = job.descriptor.size;
    if (snaps.stat(chain[i]!)) {
      await opts.ensureBlob?.(job, i);
      opts.onProgress?.({ digest: job.descriptor.digest, phase: 'exists', current: total, total });
      return undefined;
    }
    if (failed.value) return undefined;
    const key = extractionKey(lease.id, chain[i]!);
    await snaps.prepare(key);
    try {
      const src: LayerSource = opts.source
        ? await opts.source(job, i)
        : { stream: await store.content.reader(job.descriptor.digest) };
      // A failure to get the bytes (network, disk) is reported as itself, not as a broken tar entry.
      let sourceError: unknown;
      let sourceEnded = false;
      const stream = (async function* () {
        try {
          yield* src.stream;
          sourceEnded = true;
        } catch (err) {
          sourceError = err;
          throw err;
        }
      })();
      try {
        await unpacker.unpack(stream, {
          dir: snaps.contentDir(key),
          compression: layerCompression(job.descriptor.mediaType)!,
          diffId: job.diffId,
          what: `layer ${job.descriptor.digest}`,
          applyLimits: opts.applyLimits,
          onBytes: (n) => {
            if (!src.downloading || sourceEnded) opts.onProgress?.({ digest: job.descriptor.digest, phase: 'extracting', current: n, total: 0 });
          },
        });
      } catch (err) {
        await src.abort?.().catch(() => undefined);
        throw sourceError ?? err;
      }
      await src.whenDone?.();
      return key;
    } catch (err) {
      await snaps.remove(key).catch(() => undefined);
      throw err;
    }
  };

  const extractions = mapLimited(jobs, concurrency, extract);
  // Layers are awaited in order; one that fails while an earlier one still runs is handled then.
  for (const e of extractions) e.catch(() => undefined);
  try {
    return await commitInOrder();
  } finally {
    await Promise.allSettled(extractions);
    await unpacker.close();
    if (!opts.lease) lease.release();
  }

  async function commitInOrder(): Promise<Digest[]> {
    let firstError: unknown;
    for (let i = 0; i < jobs.length; i++) {
      let key: string | undefined;
      try {
        key = await extractions[i]!;
      } catch (err) {
        failed.value = true;
        firstError ??= err;
        continue;
      }
      if (firstError !== undefined) {
        if (key) await snaps.remove(key).catch(() => undefined);
        continue;
      }
      if (key === undefined) continue;
      if (snaps.stat(chain[i]!)) {
        // Another pull committed the same layer meanwhile: use theirs.
        await snaps.remove(key);
      } else {
        try {
          await snaps.commit(chain[i]!, key, i === 0 ? undefined : chain[i - 1]);
          created.push(chain[i]!);
        } catch (err) {
          failed.value = true;
          firstError ??= err;
          await snaps.remove(key).catch(() => undefined);
          continue;
        }
      }
      opts.onProgress?.({ digest: jobs[i]!.descriptor.digest, phase: 'done', current: jobs[i]!.descriptor.size, total: jobs[i]!.descriptor.size });
    }
    if (firstError !== undefined) {
      // Leave nothing half-done: snapshots this call committed are removed, top first.
      for (const key of created.reverse()) await snaps.remove(key).catch(() => undefined);
      throw firstError instanceof BerthError ? firstError : new BerthError('internal', String(firstError), {}, { cause: firstError });
    }
    return chain;
  }
}
