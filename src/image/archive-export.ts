// `save`: writes images as an OCI image layout (index.json, oci-layout, blobs/sha256/...) that is
// also a `docker save` archive (manifest.json + repositories pointing at the same blob files, as
// docker 25+ writes it), either as a tar file or a directory. Blobs are read verified.
import * as fs from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { BerthError, fromSystemError } from '../oci/errors.ts';
import type { Digest } from '../oci/digest.ts';
import { detectManifestKind, parseIndex, parseManifest } from '../oci/image-parse.ts';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, MediaType, type Descriptor } from '../oci/image-spec.ts';
import { familiarReference, parseReference } from '../oci/reference.ts';
import type { ImageStore } from './image-store.ts';
import { findImageRecord, resolveImage } from './image-resolve.ts';
import { tarHeader, padLength, TAR_END } from './tar-writer.ts';

export interface SaveOptions {
  /** A file path for a tar archive, or a directory path when `directory` is set. */
  output: string;
  directory?: boolean;
}

interface Plan {
  files: Map<string, { digest?: Digest; data?: Buffer; size: number }>;
}

async function collectBlobs(store: ImageStore, desc: Descriptor, plan: Plan): Promise<void> {
  const add = (d: Descriptor): void => void plan.files.set(`blobs/sha256/${d.digest.slice(7)}`, { digest: d.digest, size: d.size });
  const bytes = await store.content.readBlob(desc.digest);
  add({ ...desc, size: bytes.length });
  if (detectManifestKind(bytes, desc.mediaType) === 'index') {
    for (const m of parseIndex(bytes).manifests) if (await store.content.info(m.digest)) await collectBlobs(store, m, plan);
    return;
  }
  const m = parseManifest(bytes);
  for (const d of [m.config, ...m.layers]) add(d);
}

export async function saveImages(store: ImageStore, names: readonly string[], opts: SaveOptions): Promise<void> {
  const plan: Plan = { files: new Map() };
  const indexEntries: Descriptor[] = [];
  const dockerManifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const input of names) {
    const rec = findImageRecord(store, input);
    const ref = parseReference(rec.name);
    const desc: Descriptor = { mediaType: rec.mediaType, digest: rec.digest, size: rec.size };
    await collectBlobs(store, desc, plan);
    const annotations: Record<string, string> = { [ANNOTATION_IMAGE_NAME]: rec.name };
    if (ref.tag) annotations[ANNOTATION_REF_NAME] = ref.tag;
    indexEntries.push({ ...desc, annotations });
    const img = await resolveImage(store, rec);
    const familiar = familiarReference({ ...ref, digest: undefined });
    dockerManifest.push({
      Config: `blobs/sha256/${img.manifest.config.digest.slice(7)}`,
      RepoTags: ref.tag ? [familiar] : [],
      Layers: img.manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
    });
    if (ref.tag) {
      const repo = familiar.slice(0, familiar.length - ref.tag.length - 1);
      repositories[repo] = { ...(repositories[repo] ?? {}), [ref.tag]: img.manifest.config.digest.slice(7) };
    }
  }
  const docs = new Map<string, Buffer>([
    ['oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }))],
    ['index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: indexEntries }))],
    ['manifest.json', Buffer.from(JSON.stringify(dockerManifest))],
    ['repositories', Buffer.from(JSON.stringify(repositories))],
  ]);
  for (const [name, data] of docs) plan.files.set(name, { data, size: data.length });
  if (opts.directory) await writeDirectory(store, plan, opts.output);
  else await writeTar(store, plan, opts.output);
}

async function writeDirectory(store: ImageStore, plan: Plan, dir: string): Promise<void> {
  for (const [name, f] of plan.files) {
    const path = join(dir, name);
    await fs.mkdir(dirname(path), { recursive: true });
    if (f.data) await fs.writeFile(path, f.data);
    else {
      const fh = await fs.open(path, 'w', 0o644);
      try {
        for await (const c of await store.content.reader(f.digest!)) await fh.write(c as Buffer);
      } finally {
        await fh.close();
      }
    }
  }
}

async function writeTar(store: ImageStore, plan: Plan, output: string): Promise<void> {
  const tmp = `${output}.${process.pid}.partial`;
  const fh = await fs.open(tmp, 'w', 0o644).catch((err) => {
    throw fromSystemError(err, 'create', output);
  });
  try {
    const dirs = new Set<string>();
    for (const name of plan.files.keys()) {
      for (let d = dirname(name); d !== '.'; d = dirname(d)) dirs.add(d);
    }
    for (const d of [...dirs].sort()) await fh.write(tarHeader({ name: d, type: 'dir', mode: 0o755 }));
    for (const [name, f] of plan.files) {
      await fh.write(tarHeader({ name, type: 'file', size: f.size, mode: 0o644 }));
      if (f.data) await fh.write(f.data);
      else {
        let written = 0;
        for await (const c of await store.content.reader(f.digest!)) {
          written += (c as Buffer).length;
          await fh.write(c as Buffer);
        }
        if (written !== f.size) throw new BerthError('data-loss', `blob ${f.digest} is ${written} bytes, its descriptor says ${f.size}`);
      }
      await fh.write(Buffer.alloc(padLength(f.size)));
    }
    await fh.write(TAR_END);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await fs.rename(tmp, output);
}
