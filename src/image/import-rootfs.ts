// `berth import`: a root filesystem tarball becomes a one-layer image (as `docker import`).

import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { arch } from 'node:process';
import { notFound } from '../oci/errors.ts';
import { Digester, sha256Of, type Digest } from '../oci/digest.ts';
import { MediaType, type ImageConfig, type ImageManifest } from '../oci/image-spec.ts';
import { formatReference, parseReference } from '../oci/reference.ts';
import { importBlobFile } from './archive-import.ts';
import { decompress, sniffCompression } from './decompress.ts';
import type { ImageStore } from './image-store.ts';
import { createLease } from './leases.ts';
import { DEFAULT_PATH } from './runtime-config.ts';

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

export interface ImportOptions {
  cmd?: string[];
  env?: string[];
  workdir?: string;
}

/** Pure: the config of an imported image. */
export function importedImageConfig(diffId: Digest, opts: ImportOptions, created: string): ImageConfig {
  return {
    created,
    architecture: GO_ARCH[arch] ?? arch,
    os: 'linux',
    config: {
      Env: opts.env?.length ? opts.env : [DEFAULT_PATH],
      ...(opts.cmd?.length ? { Cmd: opts.cmd } : {}),
      ...(opts.workdir ? { WorkingDir: opts.workdir } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: 'berth import' }],
  } as ImageConfig;
}

export async function importRootfsTar(store: ImageStore, tarPath: string, name: string, opts: ImportOptions = {}): Promise<{ name: string; digest: Digest }> {
  const ref = formatReference(parseReference(name, 'image'));
  let head: Buffer;
  try {
    const fh = await fs.open(tarPath, 'r');
    head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    await fh.close();
  } catch {
    throw notFound(`tarball ${tarPath} not found`, { path: tarPath });
  }
  const compression = sniffCompression(head);
  const blob = new Digester();
  for await (const c of createReadStream(tarPath)) blob.update(c as Buffer);
  const diff = new Digester();
  for await (const c of decompress(createReadStream(tarPath), compression, tarPath)) diff.update(c);

  const lease = createLease(store.db);
  try {
    const layerDigest = blob.digest();
    await importBlobFile(store, tarPath, { digest: layerDigest, size: blob.size }, lease);
    const configBytes = Buffer.from(JSON.stringify(importedImageConfig(diff.digest(), opts, new Date().toISOString())));
    const configDigest = sha256Of(configBytes);
    await store.content.writeBlob(configBytes, { digest: configDigest });
    lease.addBlob(configDigest);
    const mediaType = compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
      layers: [{ mediaType, digest: layerDigest, size: blob.size }],
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = sha256Of(manifestBytes);
    await store.content.writeBlob(manifestBytes, { digest: manifestDigest });
    lease.addBlob(manifestDigest);
    store.records.addRefs(manifestDigest, [configDigest, layerDigest]);
    store.records.put({ name: ref, digest: manifestDigest, mediaType: MediaType.ociManifest, size: manifestBytes.length });
    return { name: ref, digest: manifestDigest };
  } finally {
    lease.release();
  }
}
