// The built image into the store: its config (docker's and BuildKit's fields, history with one
// entry per instruction) and OCI manifest as blobs, the content graph for GC, and the tags.
import { sha256Of, type Digest } from '../../oci/digest.ts';
import { MediaType, type Descriptor, type HistoryEntry, type ImageConfig, type ImageManifest } from '../../oci/image-spec.ts';
import { formatReference, parseReference } from '../../oci/reference.ts';
import type { ImageStore } from '../../image/image-store.ts';
import type { Lease } from '../../image/leases.ts';
import type { BuildImageConfig } from '../../image/build/image-config.ts';
import type { BuildPlatform } from '../../image/build/build-args.ts';

export interface LayerRef {
  descriptor: Descriptor;
  diffId: Digest;
}

export interface ImageParts {
  platform: BuildPlatform;
  config: BuildImageConfig;
  author?: string;
  created: string;
  layers: readonly LayerRef[];
  history: readonly HistoryEntry[];
  /** `--label`s: added to the config's labels. */
  labels: readonly [string, string][];
}

export interface CommittedImage {
  manifestDigest: Digest;
  manifestSize: number;
  configDigest: Digest;
  names: string[];
}

/** Pure: the image config document, fields in a fixed order so equal inputs give equal bytes. */
export function imageConfigDocument(p: ImageParts): ImageConfig {
  const config: BuildImageConfig = structuredClone(p.config);
  if (p.labels.length) config.Labels = { ...(config.Labels ?? {}), ...Object.fromEntries(p.labels) };
  return {
    created: p.created,
    ...(p.author !== undefined ? { author: p.author } : {}),
    architecture: p.platform.architecture,
    os: p.platform.os,
    ...(p.platform.variant ? { variant: p.platform.variant } : {}),
    config,
    rootfs: { type: 'layers', diff_ids: p.layers.map((l) => l.diffId) },
    history: [...p.history],
  };
}

/** Writes config and manifest, records their graph, then (only then) points `tags` at it. */
export async function commitImage(store: ImageStore, parts: ImageParts, tags: readonly string[], lease: Lease): Promise<CommittedImage> {
  const configBytes = Buffer.from(JSON.stringify(imageConfigDocument(parts)));
  const configDigest = sha256Of(configBytes);
  await store.content.writeBlob(configBytes, { digest: configDigest });
  lease.addBlob(configDigest);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers: parts.layers.map((l) => ({ mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = sha256Of(manifestBytes);
  await store.content.writeBlob(manifestBytes, { digest: manifestDigest });
  lease.addBlob(manifestDigest);
  const names = tags.map((t) => formatReference(parseReference(t, '--tag')));
  store.db.transaction(() => {
    store.records.addRefs(manifestDigest, [configDigest, ...parts.layers.map((l) => l.descriptor.digest)]);
    for (const name of names) store.records.put({ name, digest: manifestDigest, mediaType: MediaType.ociManifest, size: manifestBytes.length });
  })();
  return { manifestDigest, manifestSize: manifestBytes.length, configDigest, names };
}
