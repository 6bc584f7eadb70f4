// `pull`: resolve a reference on its registry, store the manifest (and index), config and layers,
// and unpack the layers into snapshots while they download (one pass: network -> ingest file and
// -> decompress -> untar). The image name is recorded only when everything verified.
import { BerthError } from '../oci/errors.ts';
import { checkDocumentSize } from '../oci/json-document.ts';
import type { Digest } from '../oci/digest.ts';
import { detectManifestKind, parseImageConfig, parseIndex, parseManifest } from '../oci/image-parse.ts';
import { MediaType, type Descriptor, type ImageConfig, type Platform } from '../oci/image-spec.ts';
import { formatPlatform, hostPlatform, platformMatches, selectPlatformManifest } from '../oci/image-platform.ts';
import { familiarReference, formatReference, parseReference, type ImageReference } from '../oci/reference.ts';
import type { ImageStore } from './image-store.ts';
import { RegistryClient, type ClientOptions } from './registry-client.ts';
import { endpointFor, isLoopbackHost } from './registry-hosts.ts';
import { EMPTY_REGISTRIES_CONF, pullSources, pushSource, type PullSource, type RegistriesConf } from './registries-conf.ts';
import type { Credentials } from './registry-auth.ts';
import { createLease } from './leases.ts';
import { checkLayerMediaType, ensureSnapshots, mapLimited, type LayerJob, type LayerProgress } from './unpack-image.ts';
import type { ApplyLimits } from './layer-applier.ts';
import { collectGarbage } from './gc.ts';
import { isOutOfSpace, outOfSpaceError } from './free-space.ts';

export type PullEvent =
  | { type: 'resolved'; reference: string; digest: Digest; mediaType: string }
  | ({ type: 'layer' } & LayerProgress)
  | { type: 'done'; reference: string; digest: Digest };

export interface PullOptions extends ClientOptions {
  platform?: Platform;
  /** berth's config dir: auth.json. */
  configDir?: string;
  /** Where images come from (containers-registries.conf); none: every name from its own registry. */
  registriesConf?: RegistriesConf;
  /** Credentials for one place pulled from, instead of the stored ones (berthd's request credentials). */
  sourceCredentials?: (source: PullSource) => Credentials | undefined;
  concurrency?: number;
  unpack?: boolean;
  onEvent?: (e: PullEvent) => void;
  applyLimits?: ApplyLimits;
}

export interface PullResult {
  name: string;
  /** What the name points at: the index or the manifest digest. */
  digest: Digest;
  manifestDigest: Digest;
  /** The image id, as docker and the CRI name an image. */
  configDigest: Digest;
  config: ImageConfig;
  chainIds: Digest[];
}

export const SOURCE_LABEL_PREFIX = 'distribution.source.';

/** A client for one place: its host over HTTPS, or plain HTTP where registries.conf allows it. */
export function clientFor(source: PullSource, opts: PullOptions): RegistryClient {
  const credentials = opts.sourceCredentials?.(source) ?? opts.credentials;
  return new RegistryClient(endpointFor(source.domain, source.insecure), { ...opts, credentials });
}

/** The client and repository to push `ref` to. */
export function pushClientFor(ref: ImageReference, opts: PullOptions): { client: RegistryClient; repository: string } {
  const source = pushSource(ref, opts.registriesConf ?? EMPTY_REGISTRIES_CONF, isLoopbackHost);
  return { client: clientFor(source, opts), repository: source.repository };
}

/** A mirror that fails this way is skipped for the next place (containers/image does the same). */
function mirrorMiss(err: unknown): boolean {
  return err instanceof BerthError && (err.kind === 'unavailable' || err.kind === 'not-found' || err.kind === 'permission-denied');
}

/** The first place that has the image's top manifest, with that manifest. */
async function resolveSource(ref: ImageReference, opts: PullOptions, what: string) {
  const sources = pullSources(ref, opts.registriesConf ?? EMPTY_REGISTRIES_CONF, isLoopbackHost);
  for (const source of sources) {
    const client = clientFor(source, opts);
    try {
      const top = await client.getManifest(source.repository, ref.digest ?? ref.tag!, what);
      return { source, client, top };
    } catch (err) {
      if (!source.mirror || !mirrorMiss(err)) throw err;
    }
  }
  throw new BerthError('internal', `${what}: no place to pull from`);
}

export async function pullImage(store: ImageStore, input: string, opts: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(input, 'image');
  const shown = familiarReference(ref);
  const lease = createLease(store.db);
  let blobs: Descriptor[] = [];
  try {
    const { source, client, top } = await resolveSource(ref, opts, `image ${shown}`);
    const repo = source.repository;
    const topMediaType = resolveMediaType(top.bytes, top.mediaType);
    opts.onEvent?.({ type: 'resolved', reference: formatReference(ref), digest: top.digest, mediaType: topMediaType });
    let manifestBytes = top.bytes;
    let manifestDigest = top.digest;
    if (detectManifestKind(top.bytes, topMediaType) === 'index') {
      const index = parseIndex(top.bytes, `index of ${shown}`);
      const chosen = selectPlatformManifest(index.manifests, opts.platform ?? hostPlatform(), `image ${shown}`);
      const child = await client.getManifest(repo, chosen.digest, `manifest ${chosen.digest} of ${shown}`);
      manifestBytes = child.bytes;
      manifestDigest = child.digest;
    }
    const manifest = parseManifest(manifestBytes, `manifest of ${shown}`);
    blobs = [manifest.config, ...manifest.layers];
    manifest.layers.forEach((l, i) => checkLayerMediaType(l, i));
    checkDocumentSize(`config of ${shown}`, manifest.config.size);
    // Everything this pull stores is held from the start, in one transaction.
    lease.add({ blobs: [top.digest, manifestDigest, ...blobs.map((b) => b.digest)] });
    const configBytes = await fetchSmallBlob(store, client, repo, manifest.config);
    const config = parseImageConfig(configBytes, `config of ${shown}`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new BerthError('invalid-argument', `image ${shown}: manifest has ${manifest.layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff_ids`, { field: 'rootfs.diff_ids' });
    }
    if (opts.platform && top.digest === manifestDigest) {
      const found = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
      if (!platformMatches(opts.platform, found)) {
        throw new BerthError('not-found', `image ${shown} was found but its platform ${formatPlatform(found)} does not match the requested ${formatPlatform(opts.platform)}`, { field: 'platform' });
      }
    }
    const jobs: LayerJob[] = manifest.layers.map((descriptor, i) => ({ descriptor, diffId: config.rootfs.diff_ids[i]! }));
    const onProgress = (p: LayerProgress): void => opts.onEvent?.({ type: 'layer', ...p });
    for (const j of jobs) onProgress({ digest: j.descriptor.digest, phase: 'waiting', current: 0, total: j.descriptor.size });

    let chain: Digest[] = [];
    if (opts.unpack === false) {
      await Promise.all(mapLimited(jobs, opts.concurrency ?? 3, (j) => downloadBlob(store, client, repo, j.descriptor, onProgress)));
    } else {
      chain = await ensureSnapshots(store, jobs, {
        concurrency: opts.concurrency,
        lease,
        onProgress,
        applyLimits: opts.applyLimits,
        ensureBlob: (j) => downloadBlob(store, client, repo, j.descriptor, onProgress),
        source: (j) => streamingSource(store, client, repo, j.descriptor, onProgress),
      });
    }

    // Everything verified: store the documents and record the name, in that order.
    await store.content.writeBlob(manifestBytes, { digest: manifestDigest });
    if (top.digest !== manifestDigest) await store.content.writeBlob(top.bytes, { digest: top.digest });
    const name = formatReference(ref.tag !== undefined ? { ...ref, digest: undefined } : ref);
    store.db.transaction(() => {
      store.records.addRefs(manifestDigest, [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]);
      if (top.digest !== manifestDigest) store.records.addRefs(top.digest, [manifestDigest]);
      for (const d of [top.digest, manifestDigest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        addSource(store, d, source.domain, repo);
      }
      store.records.put({ name, digest: top.digest, mediaType: topMediaType, size: top.bytes.length });
    })();
    opts.onEvent?.({ type: 'done', reference: name, digest: top.digest });
    lease.release();
    return { name, digest: top.digest, manifestDigest, configDigest: manifest.config.digest, config, chainIds: chain };
  } catch (err) {
    // Leave nothing behind that no image references: verified blobs and snapshots of this failed
    // pull go. An interrupted download stays in ingest/ so that the next pull resumes it, unless
    // the disk is full: then its space goes back first (the database needs some to record the rest).
    const full = isOutOfSpace(err);
    if (full) {
      await dropIngests(store, blobs);
      store.releaseSpaceReserveIfLow();
    }
    try {
      lease.release();
    } catch {
      // Cleaning up must not hide why the pull failed; GC removes what the lease still holds later.
    }
    await collectGarbage(store).catch(() => undefined);
    throw full ? outOfSpaceError(err, `pull ${shown}`, store.root) : err;
  }
}


/** Removes this pull's partial downloads that no writer holds. */
async function dropIngests(store: ImageStore, blobs: readonly Descriptor[]): Promise<void> {
  const open = new Set((await store.content.ingests()).map((i) => i.ref));
  for (const d of blobs) {
    const ref = `pull-${d.digest}`;
    if (!open.has(ref) || (await store.content.ingestLocked(ref))) continue;
    await store.content.abortIngest(ref).catch(() => undefined);
  }
}

function resolveMediaType(bytes: Buffer, declared: string): string {
  const kind = detectManifestKind(bytes, declared || undefined);
  if (declared && declared !== 'application/json' && declared !== 'text/plain') return declared;
  const inner = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType;
  return inner ?? (kind === 'index' ? MediaType.ociIndex : MediaType.ociManifest);
}

/** Remembers which repositories hold a blob, for cross-repository mounts on push. */
export function addSource(store: ImageStore, digest: Digest, domain: string, repo: string): void {
  const key = SOURCE_LABEL_PREFIX + domain;
  const current = store.records.labels(digest)[key];
  const repos = new Set(current ? current.split(',') : []);
  repos.add(repo);
  store.records.setLabel(digest, key, [...repos].join(','));
}

async function fetchSmallBlob(store: ImageStore, client: RegistryClient, repo: string, desc: Descriptor): Promise<Buffer> {
  if (await store.content.info(desc.digest)) {
    try {
      return await store.content.readBlob(desc.digest);
    } catch (err) {
      if (!(err instanceof BerthError && err.kind === 'data-loss')) throw err;
    }
  }
  await downloadBlob(store, client, repo, desc);
  return store.content.readBlob(desc.digest);
}

/** Downloads a blob into the content store (resuming an earlier partial ingest), verified. */
async function downloadBlob(
  store: ImageStore,
  client: RegistryClient,
  repo: string,
  desc: Descriptor,
  onProgress?: (p: LayerProgress) => void,
): Promise<void> {
  if (await store.content.info(desc.digest)) return;
  const w = await store.content.writer(`pull-${desc.digest}`);
  try {
    if (w.offset > desc.size) await w.truncate();
    for await (const chunk of client.getBlob(repo, desc, w.offset)) {
      await w.write(chunk);
      onProgress?.({ digest: desc.digest, phase: 'downloading', current: w.offset, total: desc.size });
    }
    await w.commit({ digest: desc.digest, size: desc.size });
  } catch (err) {
    await w.close();
    throw err;
  }
}

/**
 * The bytes of a layer for extraction: straight from the network, written to the ingest as they
 * pass. When an interrupted ingest exists, the blob is completed first and read back from the store.
 */
async function streamingSource(
  store: ImageStore,
  client: RegistryClient,
  repo: string,
  desc: Descriptor,
  onProgress: (p: LayerProgress) => void,
) {
  if (await store.content.info(desc.digest)) return { stream: await store.content.reader(desc.digest) };
  const w = await store.content.writer(`pull-${desc.digest}`);
  if (w.offset > 0) {
    await w.close();
    await downloadBlob(store, client, repo, desc, onProgress);
    return { stream: await store.content.reader(desc.digest) };
  }
  const stream = (async function* () {
    for await (const chunk of client.getBlob(repo, desc, 0)) {
      await w.write(chunk);
      onProgress({ digest: desc.digest, phase: 'downloading', current: w.offset, total: desc.size });
      yield chunk;
    }
  })();
  return {
    stream,
    downloading: true,
    whenDone: async () => {
      // Drain anything the decompressor did not need (trailing bytes still count for the digest).
      for await (const _ of stream) void _;
      await w.commit({ digest: desc.digest, size: desc.size });
    },
    abort: async () => {
      await stream.return(undefined).catch(() => undefined);
      await w.close();
    },
  };
}
