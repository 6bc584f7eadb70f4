// `load`: OCI image layouts (a directory, or a tar of one) and `docker save` archives
// (manifest.json + repositories, layers as tar files, compressed or not). Tar archives are read
// with the safe tar reader into a private staging directory first; every blob is verified by
// digest on its way into the content store; names are recorded only after everything verified.
import * as fs from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { BerthError, fromSystemError, invalid, notFound, unimplemented } from '../oci/errors.ts';
import { checkDocumentSize, parseJsonDocument } from '../oci/json-document.ts';
import { quote } from '../oci/quote.ts';
import { isMissingFile, readDocumentFile } from './document-file.ts';
import { Digester, parseDigest, sha256Of, type Digest } from '../oci/digest.ts';
import { detectManifestKind, parseImageConfig, parseIndex, parseManifest } from '../oci/image-parse.ts';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, MediaType, type Descriptor, type ImageManifest } from '../oci/image-spec.ts';
import { formatReference, parseReference } from '../oci/reference.ts';
import type { ImageStore } from './image-store.ts';
import { readTar } from './tar-reader.ts';
import { entryComponents } from './layer-path.ts';
import { decompress, sniffCompression } from './decompress.ts';
import { createLease, type Lease } from './leases.ts';
import { ensureSnapshots } from './unpack-image.ts';
import { resolveImage } from './image-resolve.ts';
import { collectGarbage } from './gc.ts';
import { ENTRY_COST_BYTES, SpaceGuard, isOutOfSpace, outOfSpaceError } from './free-space.ts';

export interface LoadResult {
  images: Array<{ name: string; digest: Digest }>;
}

export async function loadArchive(store: ImageStore, input: string, opts: { unpack?: boolean } = {}): Promise<LoadResult> {
  let st;
  try {
    st = await fs.stat(input);
  } catch {
    throw notFound(`archive ${input} not found`, { path: input });
  }
  const lease = createLease(store.db);
  let staging: string | undefined;
  try {
    let dir = input;
    if (!st.isDirectory()) {
      staging = join(store.tmpDir(), `load-${randomUUID()}`);
      await extractArchive(input, staging);
      dir = staging;
    }
    const hasIndex = await exists(join(dir, 'index.json'));
    const hasDockerManifest = await exists(join(dir, 'manifest.json'));
    let images: NameToRecord[];
    if (hasIndex) images = await loadOciLayout(store, dir, lease);
    else if (hasDockerManifest) images = await loadDockerArchive(store, dir, lease);
    else throw invalid(`${input} is neither an OCI image layout (index.json) nor a docker save archive (manifest.json)`, { path: input });
    if (opts.unpack !== false) {
      const unpacked = new Set<Digest>();
      for (const img of images) {
        if (unpacked.has(img.digest)) continue;
        unpacked.add(img.digest);
        const r = await resolveImage(store, { ...img, createdAt: 0, updatedAt: 0 });
        await ensureSnapshots(store, r.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: r.config.rootfs.diff_ids[i]! })), { lease });
      }
    }
    // Everything verified and unpacked: the names appear together, or not at all.
    store.db.transaction(() => {
      for (const img of images) store.records.put(img);
    })();
    lease.release();
    return { images: images.map(({ name, digest }) => ({ name, digest })) };
  } catch (err) {
    // What this load stored and no name references goes again, the staged archive first.
    if (staging) await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    store.releaseSpaceReserveIfLow();
    try {
      lease.release();
    } catch {
      // Cleaning up must not hide why the load failed; GC removes what the lease still holds later.
    }
    await collectGarbage(store).catch(() => undefined);
    throw isOutOfSpace(err) ? outOfSpaceError(err, `load ${input}`, store.root) : err;
  } finally {
    if (staging) await fs.rm(staging, { recursive: true, force: true });
  }
}

/** A name the load records once everything verified. */
interface NameToRecord {
  name: string;
  digest: Digest;
  mediaType: string;
  size: number;
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

/** Extracts regular files only, by safe names, into `dir` (created). */
async function extractArchive(file: string, dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const space = new SpaceGuard(dir, undefined, `unpack archive ${file}: `);
  for await (const entry of readTar(createReadStream(file))) {
    const parts = entryComponents(entry.header.name, 'archive entry');
    if (entry.header.type !== 'file' || parts.length === 0) continue;
    // The archive's JSON documents are refused by their header, before a byte of them is stored.
    if (isDocumentName(parts)) checkDocumentSize(`archive entry ${parts.join('/')}`, entry.header.size);
    let parent = dir;
    for (const p of parts.slice(0, -1)) {
      parent = join(parent, p);
      const s = await fs.lstat(parent).catch(() => undefined);
      if (!s) await fs.mkdir(parent);
      else if (!s.isDirectory()) throw invalid(`archive entry ${quote(entry.header.name)}: ${quote(p)} is not a directory`, { field: entry.header.name });
    }
    const path = join(parent, parts[parts.length - 1]!);
    // A later entry of the same name replaces the earlier one, as tar does; never followed if a link.
    const fh = await fs.open(path, 'wx', 0o600).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw fromSystemError(err, 'open', path);
      await fs.rm(path, { recursive: true, force: true });
      return fs.open(path, 'wx', 0o600);
    });
    try {
      space.wrote(ENTRY_COST_BYTES);
      for await (const chunk of entry.body()) {
        space.wrote(chunk.length);
        await fh.write(chunk);
      }
    } catch (err) {
      throw fromSystemError(err, 'write', path);
    } finally {
      await fh.close();
    }
  }
}

/** The documents of an OCI layout or a docker save archive (blobs/ holds configs too, but unnamed). */
function isDocumentName(parts: readonly string[]): boolean {
  const base = parts[parts.length - 1]!;
  return (parts.length === 1 && ['index.json', 'oci-layout', 'manifest.json', 'repositories'].includes(base)) || base.endsWith('.json');
}

export async function importBlobFile(store: ImageStore, path: string, expected: { digest: Digest; size?: number }, lease: Lease): Promise<void> {
  lease.addBlob(expected.digest);
  if (await store.content.info(expected.digest)) return;
  const st = await fs.stat(path).catch(() => undefined);
  if (!st?.isFile()) throw notFound(`archive lacks blob ${expected.digest}`, { path });
  // A file of the wrong size is refused before it is copied (it could be any size at all).
  if (expected.size !== undefined && st.size !== expected.size) {
    throw new BerthError('data-loss', `blob ${expected.digest}: size mismatch: expected ${expected.size} bytes, the archive has ${st.size}`, { path, field: expected.digest });
  }
  const w = await store.content.writer(`load-${expected.digest}-${randomUUID()}`);
  try {
    for await (const chunk of createReadStream(path)) await w.write(chunk as Buffer);
    await w.commit(expected);
  } catch (err) {
    await w.close();
    await store.content.abortIngest(w.ref);
    throw fromSystemError(err, 'read', path);
  }
}

/** An OCI layout's oci-layout file, when present, must name the one layout version there is. */
function checkLayoutVersion(dir: string): void {
  let bytes: Buffer;
  try {
    bytes = readDocumentFile(join(dir, 'oci-layout'), 'oci-layout');
  } catch (err) {
    if (isMissingFile(err)) return;
    throw err;
  }
  const version = (parseJsonDocument(bytes, 'oci-layout') as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (version !== '1.0.0') throw unimplemented(`oci-layout: unsupported imageLayoutVersion ${JSON.stringify(version)} (berth reads 1.0.0)`, { path: 'oci-layout' });
}

function blobFile(dir: string, digest: Digest): string {
  return join(dir, 'blobs', 'sha256', parseDigest(digest).slice(7));
}

function nameFor(desc: Descriptor, fallback: string): string {
  const full = desc.annotations?.[ANNOTATION_IMAGE_NAME];
  if (full) return formatReference(parseReference(full, ANNOTATION_IMAGE_NAME));
  const ref = desc.annotations?.[ANNOTATION_REF_NAME];
  if (ref) {
    // A bare tag ("v1") names no repository; a full reference does.
    if (/^[\w][\w.-]{0,127}$/.test(ref)) return formatReference(parseReference(`${fallback}:${ref}`, ANNOTATION_REF_NAME));
    return formatReference(parseReference(ref, ANNOTATION_REF_NAME));
  }
  return formatReference(parseReference(`${fallback}@${desc.digest}`));
}

async function importManifestTree(store: ImageStore, dir: string, desc: Descriptor, lease: Lease): Promise<void> {
  checkDocumentSize(`manifest ${desc.digest}`, desc.size);
  await importBlobFile(store, blobFile(dir, desc.digest), desc, lease);
  const bytes = await store.content.readBlob(desc.digest);
  if (detectManifestKind(bytes, desc.mediaType) === 'index') {
    const index = parseIndex(bytes, `index ${desc.digest}`);
    const children: Digest[] = [];
    for (const m of index.manifests) {
      if (!(await exists(blobFile(dir, m.digest)))) continue; // platforms not included in the archive
      await importManifestTree(store, dir, m, lease);
      children.push(m.digest);
    }
    store.records.addRefs(desc.digest, children);
    return;
  }
  const manifest = parseManifest(bytes, `manifest ${desc.digest}`);
  checkDocumentSize(`config ${manifest.config.digest}`, manifest.config.size);
  for (const d of [manifest.config, ...manifest.layers]) await importBlobFile(store, blobFile(dir, d.digest), d, lease);
  parseImageConfig(await store.content.readBlob(manifest.config.digest));
  store.records.addRefs(desc.digest, [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]);
}

async function loadOciLayout(store: ImageStore, dir: string, lease: Lease): Promise<NameToRecord[]> {
  checkLayoutVersion(dir);
  const index = parseIndex(readDocumentFile(join(dir, 'index.json'), 'index.json'), 'index.json');
  const out: NameToRecord[] = [];
  for (const desc of index.manifests) {
    await importManifestTree(store, dir, desc, lease);
    out.push({ name: nameFor(desc, 'docker.io/library/loaded'), digest: desc.digest, mediaType: desc.mediaType, size: desc.size });
  }
  return out;
}

interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function archivePath(dir: string, rel: string, what: string): string {
  return join(dir, ...entryComponents(rel, what));
}

async function loadDockerArchive(store: ImageStore, dir: string, lease: Lease): Promise<NameToRecord[]> {
  const entries = parseJsonDocument(readDocumentFile(join(dir, 'manifest.json'), 'manifest.json'), 'manifest.json') as DockerArchiveEntry[];
  if (!Array.isArray(entries)) throw invalid('manifest.json: not a JSON array', { path: 'manifest.json' });
  const out: NameToRecord[] = [];
  for (const [i, e] of entries.entries()) {
    if (typeof e.Config !== 'string' || !Array.isArray(e.Layers)) throw invalid(`manifest.json[${i}]: needs Config and Layers`, { field: `manifest.json[${i}]` });
    const configBytes = readDocumentFile(archivePath(dir, e.Config, 'Config'), `config ${quote(e.Config)}`);
    const config = parseImageConfig(configBytes, `config ${quote(e.Config)}`);
    if (config.rootfs.diff_ids.length !== e.Layers.length) {
      throw invalid(`manifest.json[${i}]: ${e.Layers.length} layers but the config lists ${config.rootfs.diff_ids.length}`, { field: `manifest.json[${i}]` });
    }
    const configDigest = sha256Of(configBytes);
    await store.content.writeBlob(configBytes, { digest: configDigest });
    lease.addBlob(configDigest);
    const layers: Descriptor[] = [];
    for (const [j, rel] of e.Layers.entries()) {
      const path = archivePath(dir, rel, `Layers[${j}]`);
      const head = Buffer.alloc(4);
      const fh = await fs.open(path, 'r');
      await fh.read(head, 0, 4, 0);
      await fh.close();
      const compression = sniffCompression(head);
      const d = new Digester();
      for await (const c of createReadStream(path)) d.update(c as Buffer);
      const digest = d.digest();
      const diff = new Digester();
      for await (const c of decompress(createReadStream(path), compression, `layer ${quote(rel)}`)) diff.update(c);
      if (diff.digest() !== config.rootfs.diff_ids[j]) {
        throw new BerthError('data-loss', `layer ${quote(rel)}: content hashes to ${diff.digest()} but the config says ${config.rootfs.diff_ids[j]}`, { field: rel });
      }
      await importBlobFile(store, path, { digest, size: d.size }, lease);
      const mediaType = compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
      layers.push({ mediaType, digest, size: d.size });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
      layers,
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = sha256Of(manifestBytes);
    await store.content.writeBlob(manifestBytes, { digest: manifestDigest });
    lease.addBlob(manifestDigest);
    store.records.addRefs(manifestDigest, [configDigest, ...layers.map((l) => l.digest)]);
    const names = (e.RepoTags ?? []).map((t) => formatReference(parseReference(t, 'RepoTags')));
    if (names.length === 0) names.push(formatReference(parseReference(`docker.io/library/loaded@${manifestDigest}`)));
    for (const name of names) out.push({ name, digest: manifestDigest, mediaType: MediaType.ociManifest, size: manifestBytes.length });
  }
  return out;
}
