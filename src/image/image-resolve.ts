// Reading a stored image: name -> record -> (index ->) manifest -> config, from the content store.
import { BerthError, notFound } from '../oci/errors.ts';
import type { Digest } from '../oci/digest.ts';
import { detectManifestKind, parseImageConfig, parseIndex, parseManifest } from '../oci/image-parse.ts';
import type { ImageConfig, ImageManifest, Platform } from '../oci/image-spec.ts';
import { hostPlatform, selectPlatformManifest } from '../oci/image-platform.ts';
import { formatReference, parseNormalized, parseReference } from '../oci/reference.ts';
import { isDigest } from '../oci/digest.ts';
import { quote } from '../oci/quote.ts';
import type { ImageStore } from './image-store.ts';
import type { ImageRecord } from './image-records.ts';

export interface ResolvedImage {
  record: ImageRecord;
  manifestDigest: Digest;
  manifest: ImageManifest;
  config: ImageConfig;
}

/**
 * Finds an image record by what a user typed: a reference (`busybox`, `x:1`, `host/x@sha256:..`),
 * a full digest, or a unique prefix (12+ hex characters) of a manifest digest.
 */
export function findImageRecord(store: ImageStore, input: string): ImageRecord {
  const hex = input.startsWith('sha256:') ? input.slice(7) : input;
  if (/^[a-f0-9]{12,64}$/.test(hex)) {
    const matches = store.records.list().filter((r) => r.digest.slice(7).startsWith(hex));
    const digests = new Set(matches.map((r) => r.digest));
    if (digests.size === 1) return matches[0]!;
    if (digests.size > 1) throw new BerthError('invalid-argument', `image id prefix ${quote(input)} is ambiguous`, { field: 'image' });
    if (isDigest(input)) throw notFound(`image ${quote(input)} not found`, { field: 'image' });
  }
  const ref = parseReference(input, 'image');
  const byName = store.records.get(formatReference(ref));
  if (byName) return byName;
  // `name@digest` may be stored under the tagged name that has that digest.
  if (ref.digest) {
    const bare = parseNormalized(input, 'image');
    const same = store.records.byDigest(ref.digest).find((r) => r.name.startsWith(`${bare.domain}/${bare.path}`));
    if (same) return same;
  }
  throw notFound(`image ${quote(input)} not found`, { field: 'image' });
}

export async function resolveImage(store: ImageStore, input: string | ImageRecord, platform: Platform = hostPlatform()): Promise<ResolvedImage> {
  const record = typeof input === 'string' ? findImageRecord(store, input) : input;
  let manifestDigest = record.digest;
  let bytes = await store.content.readBlob(manifestDigest);
  if (detectManifestKind(bytes, record.mediaType) === 'index') {
    const index = parseIndex(bytes, `index ${manifestDigest}`);
    const local = [];
    for (const d of index.manifests) if (await store.content.info(d.digest)) local.push(d);
    const chosen = selectPlatformManifest(local, platform, `image ${record.name}`);
    manifestDigest = chosen.digest;
    bytes = await store.content.readBlob(manifestDigest);
  }
  const manifest = parseManifest(bytes, `manifest ${manifestDigest}`);
  const config = parseImageConfig(await store.content.readBlob(manifest.config.digest), `config ${manifest.config.digest}`);
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new BerthError('invalid-argument', `image ${record.name}: manifest has ${manifest.layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`, { field: 'rootfs.diff_ids' });
  }
  return { record, manifestDigest, manifest, config };
}
