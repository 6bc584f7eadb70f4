// `push`: upload an image's blobs (skipping those the registry has, mounting those it holds in
// another repository) and then its manifest(s), so the remote digests equal the local ones.
import { BerthError, notFound } from '../oci/errors.ts';
import type { Digest } from '../oci/digest.ts';
import { detectManifestKind, parseIndex, parseManifest } from '../oci/image-parse.ts';
import type { Descriptor } from '../oci/image-spec.ts';
import { familiarReference, formatReference, parseReference } from '../oci/reference.ts';
import type { ImageStore } from './image-store.ts';
import { findImageRecord } from './image-resolve.ts';
import { addSource, pushClientFor, SOURCE_LABEL_PREFIX, type PullOptions } from './pull.ts';
import { mapLimited } from './unpack-image.ts';
import type { RegistryClient } from './registry-client.ts';

export type PushEvent =
  | { type: 'blob'; digest: Digest; phase: 'checking' | 'exists' | 'mounted' | 'uploading' | 'done'; current: number; total: number }
  | { type: 'manifest'; digest: Digest; reference: string }
  | { type: 'done'; reference: string; digest: Digest };

export interface PushOptions extends Omit<PullOptions, 'onEvent'> {
  onEvent?: (e: PushEvent) => void;
}

export interface PushResult {
  reference: string;
  digest: Digest;
}

export async function pushImage(store: ImageStore, localName: string, target: string | undefined, opts: PushOptions = {}): Promise<PushResult> {
  const rec = findImageRecord(store, localName);
  const ref = parseReference(target ?? rec.name, 'destination');
  const { client, repository: repo } = pushClientFor(ref, { ...opts, onEvent: undefined });
  const topBytes = await store.content.readBlob(rec.digest);
  const manifests: Array<{ digest: Digest; bytes: Buffer; mediaType: string }> = [];
  let top = { digest: rec.digest, bytes: topBytes, mediaType: rec.mediaType };
  if (detectManifestKind(topBytes, rec.mediaType) === 'index') {
    const index = parseIndex(topBytes, `index ${rec.digest}`);
    const present: Descriptor[] = [];
    for (const d of index.manifests) if (await store.content.info(d.digest)) present.push(d);
    if (present.length === index.manifests.length) {
      for (const d of present) manifests.push({ digest: d.digest, bytes: await store.content.readBlob(d.digest), mediaType: d.mediaType });
    } else if (present.length === 1) {
      // Only this platform was pulled: push its manifest (the remote digest is the manifest's).
      const d = present[0]!;
      top = { digest: d.digest, bytes: await store.content.readBlob(d.digest), mediaType: d.mediaType };
      manifests.push(top);
    } else {
      throw notFound(`image ${localName}: the index lists manifests that are not stored locally; cannot push it whole`, { field: 'image' });
    }
  } else {
    manifests.push(top);
  }
  const blobs = new Map<Digest, Descriptor>();
  for (const m of manifests) {
    const parsed = parseManifest(m.bytes, `manifest ${m.digest}`);
    for (const d of [parsed.config, ...parsed.layers]) blobs.set(d.digest, d);
  }
  await Promise.all(mapLimited([...blobs.values()], opts.concurrency ?? 3, (d) => pushBlob(store, client, ref.domain, repo, d, opts)));
  for (const m of manifests) {
    if (m.digest === top.digest) continue;
    await client.putManifest(repo, m.digest, m.bytes, m.mediaType);
    opts.onEvent?.({ type: 'manifest', digest: m.digest, reference: `${repo}@${m.digest}` });
  }
  const tagOrDigest = ref.tag ?? top.digest;
  const digest = await client.putManifest(repo, tagOrDigest, top.bytes, top.mediaType);
  if (digest !== top.digest) throw new BerthError('data-loss', `pushed manifest digest ${digest} differs from the local ${top.digest}`);
  const shown = formatReference({ ...ref, digest: undefined });
  opts.onEvent?.({ type: 'manifest', digest, reference: shown });
  store.db.transaction(() => {
    for (const d of [top.digest, ...manifests.map((m) => m.digest), ...blobs.keys()]) addSource(store, d, ref.domain, repo);
  })();
  opts.onEvent?.({ type: 'done', reference: familiarReference(ref), digest });
  return { reference: shown, digest };
}

async function pushBlob(store: ImageStore, client: RegistryClient, domain: string, repo: string, d: Descriptor, opts: PushOptions): Promise<void> {
  const ev = (phase: 'checking' | 'exists' | 'mounted' | 'uploading' | 'done', current: number): void =>
    opts.onEvent?.({ type: 'blob', digest: d.digest, phase, current, total: d.size });
  ev('checking', 0);
  if (!(await store.content.info(d.digest))) throw notFound(`blob ${d.digest} is not in the local content store; pull the image again`, { field: 'image' });
  if (await client.hasBlob(repo, d.digest)) return ev('exists', d.size);
  const sources = (store.records.labels(d.digest)[SOURCE_LABEL_PREFIX + domain] ?? '').split(',').filter((r) => r && r !== repo);
  for (const from of sources) {
    if (await client.mountBlob(repo, d.digest, from)) return ev('mounted', d.size);
  }
  ev('uploading', 0);
  await client.uploadBlob(repo, d, () => store.content.reader(d.digest), (n) => ev('uploading', n));
  ev('done', d.size);
}
