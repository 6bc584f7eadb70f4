// The content store: immutable blobs addressed by digest, a handful of verbs (containerd's model).
// Layout under <root>/content:
//   blobs/sha256/<hex>          committed, verified blobs
//   ingest/<sha256(ref)>/data   an in-progress write, resumable; `ref` holds the writer's key and
//                               `lock` the pid of the process writing it
// A blob is renamed into blobs/ only after its size and digest verify, with fsync before rename.
import { createReadStream, type ReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BerthError, fromSystemError, notFound } from '../oci/errors.ts';
import { Digester, digestHex, isDigest, sha256Of, verifyDigest, type Digest } from '../oci/digest.ts';
import { VerifyingStream } from './verifying-stream.ts';
import { PRIVATE_DIR_MODE } from './store-permissions.ts';
import { SpaceGuard } from './free-space.ts';
import { formatOwner, ownerAlive, parseOwner, thisProcess } from './process-owner.ts';
import { MAX_DOCUMENT_BYTES, checkDocumentSize } from '../oci/json-document.ts';

export interface BlobInfo {
  digest: Digest;
  size: number;
  /** Milliseconds since the epoch when the blob was committed. */
  committedAt: number;
}

export interface IngestStatus {
  ref: string;
  offset: number;
  updatedAt: number;
}

export interface BlobWriter {
  readonly ref: string;
  /** Bytes already written (non-zero when an interrupted ingest is resumed). */
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Verifies size and digest, then moves the blob into place. Returns its info. */
  commit(expected: { digest: Digest; size?: number }): Promise<BlobInfo>;
  /** Closes without committing; the ingest stays for a later resume (unless it is empty). */
  close(): Promise<void>;
  /** Drops the bytes written so far (to restart from offset 0). */
  truncate(): Promise<void>;
}

export interface ContentStore {
  info(digest: Digest): Promise<BlobInfo | undefined>;
  /** The whole blob (a JSON document), verified; refuses blobs above `maxBytes`. */
  readBlob(digest: Digest, maxBytes?: number): Promise<Buffer>;
  /** A stream of the blob, verified as it flows (the final chunk is withheld on mismatch). */
  reader(digest: Digest): Promise<Readable>;
  /** Opens (or resumes) the ingest named `ref`. */
  writer(ref: string): Promise<BlobWriter>;
  /** Writes a whole blob from memory, verifying it against `expected` when given. */
  writeBlob(data: Uint8Array, expected?: { digest: Digest; size?: number }): Promise<BlobInfo>;
  /** Reads the whole blob and checks its digest; a corrupt blob is deleted and reported. */
  verify(digest: Digest): Promise<void>;
  delete(digest: Digest): Promise<boolean>;
  walk(): AsyncIterable<BlobInfo>;
  ingests(): Promise<IngestStatus[]>;
  /** Whether a live writer (in any process) holds the ingest's lock. */
  ingestLocked(ref: string): Promise<boolean>;
  abortIngest(ref: string): Promise<void>;
  /** The file path of a committed blob (for tools that need it); undefined when absent. */
  blobPath(digest: Digest): string;
}

export class DirectoryContentStore implements ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'content', 'blobs', 'sha256');
    this.ingestDir = join(root, 'content', 'ingest');
  }

  blobPath(digest: Digest): string {
    return join(this.blobsDir, digestHex(digest));
  }

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const st = await fs.stat(this.blobPath(digest));
      return { digest, size: st.size, committedAt: st.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fromSystemError(err, 'stat', this.blobPath(digest));
    }
  }

  async readBlob(digest: Digest, maxBytes = MAX_DOCUMENT_BYTES): Promise<Buffer> {
    const path = this.blobPath(digest);
    let data: Buffer;
    try {
      const fh = await fs.open(path, 'r');
      try {
        const st = await fh.stat();
        checkDocumentSize(`blob ${digest}`, st.size, maxBytes);
        data = await fh.readFile();
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`blob ${digest} not found in the content store`, { path });
      throw fromSystemError(err, 'read', path);
    }
    const actual = sha256Of(data);
    if (actual !== digest) {
      await this.quarantine(digest);
      throw new BerthError('data-loss', `blob ${digest} is corrupt (content hashes to ${actual}); removed from the store`, { path });
    }
    return data;
  }

  async reader(digest: Digest): Promise<Readable> {
    const path = this.blobPath(digest);
    const info = await this.info(digest);
    if (!info) throw notFound(`blob ${digest} not found in the content store`, { path });
    const file: ReadStream = createReadStream(path);
    const verify = new VerifyingStream(`blob ${digest}`, { digest });
    file.on('error', (err) => verify.destroy(fromSystemError(err, 'read', path)));
    verify.on('error', (err) => {
      file.destroy();
      if (err instanceof BerthError && err.kind === 'data-loss') void this.quarantine(digest).catch(() => undefined);
    });
    return file.pipe(verify);
  }

  async verify(digest: Digest): Promise<void> {
    const path = this.blobPath(digest);
    const d = new Digester();
    try {
      for await (const chunk of createReadStream(path)) d.update(chunk as Buffer);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`blob ${digest} not found in the content store`, { path });
      throw fromSystemError(err, 'read', path);
    }
    if (d.digest() !== digest) {
      await this.quarantine(digest);
      throw new BerthError('data-loss', `blob ${digest} is corrupt (content hashes to ${d.digest()}); removed from the store`, { path });
    }
  }

  /** A corrupt blob is removed so that it is never served again and a new pull fetches it afresh. */
  private async quarantine(digest: Digest): Promise<void> {
    await fs.rm(this.blobPath(digest), { force: true });
  }

  async writer(ref: string): Promise<BlobWriter> {
    const dir = join(this.ingestDir, sha256Of(ref).slice(7));
    try {
      await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
      await takeIngestLock(dir, ref);
      await fs.writeFile(join(dir, 'ref'), ref);
      return await IngestWriter.open(this, dir, ref);
    } catch (err) {
      throw fromSystemError(err, 'open ingest', dir);
    }
  }

  async writeBlob(data: Uint8Array, expected?: { digest: Digest; size?: number }): Promise<BlobInfo> {
    const digest = expected?.digest ?? sha256Of(data);
    const existing = await this.info(digest);
    if (existing) return existing;
    const w = await this.writer(`write-${digest}-${process.pid}-${Date.now()}`);
    try {
      await w.truncate();
      await w.write(data);
      return await w.commit({ digest, size: expected?.size ?? data.length });
    } catch (err) {
      await w.close();
      await this.abortIngest(w.ref);
      throw err;
    }
  }

  async delete(digest: Digest): Promise<boolean> {
    try {
      await fs.unlink(this.blobPath(digest));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw fromSystemError(err, 'unlink', this.blobPath(digest));
    }
  }

  async *walk(): AsyncIterable<BlobInfo> {
    let names: string[];
    try {
      names = await fs.readdir(this.blobsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fromSystemError(err, 'readdir', this.blobsDir);
    }
    for (const name of names.sort()) {
      const digest = `sha256:${name}`;
      if (!isDigest(digest)) continue;
      const info = await this.info(digest);
      if (info) yield info;
    }
  }

  async ingests(): Promise<IngestStatus[]> {
    const out: IngestStatus[] = [];
    let names: string[];
    try {
      names = await fs.readdir(this.ingestDir);
    } catch {
      return out;
    }
    for (const name of names) {
      try {
        const ref = await fs.readFile(join(this.ingestDir, name, 'ref'), 'utf8');
        const st = await fs.stat(join(this.ingestDir, name, 'data'));
        out.push({ ref, offset: st.size, updatedAt: st.mtimeMs });
      } catch {
        // An ingest being created or removed right now.
      }
    }
    return out;
  }

  /** The directory of the ingest named `ref`. */
  ingestPath(ref: string): string {
    return join(this.ingestDir, sha256Of(ref).slice(7));
  }

  /** Whether a live writer (in any process) holds the ingest's lock; a dead owner's lock holds nothing. */
  async ingestLocked(ref: string): Promise<boolean> {
    const text = await fs.readFile(join(this.ingestPath(ref), 'lock'), 'utf8').catch(() => undefined);
    if (text === undefined) return false;
    const owner = parseOwner(text);
    return owner === undefined || ownerAlive(owner);
  }

  async abortIngest(ref: string): Promise<void> {
    await fs.rm(this.ingestPath(ref), { recursive: true, force: true });
  }
}

/**
 * One writer per ingest across processes: a lock file naming the owner (pid and start time); a
 * dead owner's lock is taken over, even when its pid now belongs to another process.
 */
async function takeIngestLock(dir: string, ref: string): Promise<void> {
  const lock = join(dir, 'lock');
  const self = thisProcess();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(lock, formatOwner(self), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = parseOwner(await fs.readFile(lock, 'utf8').catch(() => ''));
      if (owner?.pid === self.pid && (owner.startTime === undefined || owner.startTime === self.startTime)) {
        throw new BerthError('failed-precondition', `blob ingest "${ref}" is already open in this process`, { path: dir });
      }
      if (owner && ownerAlive(owner)) {
        throw new BerthError('failed-precondition', `blob ingest "${ref}" is being written by process ${owner.pid}`, { path: dir });
      }
      await fs.rm(lock, { force: true });
    }
  }
  throw new BerthError('failed-precondition', `could not lock blob ingest "${ref}"`, { path: dir });
}

class IngestWriter implements BlobWriter {
  private constructor(
    private readonly store: DirectoryContentStore,
    private readonly dir: string,
    readonly ref: string,
    private fh: fs.FileHandle,
    private digester: Digester,
    private readonly space: SpaceGuard,
  ) {}

  get offset(): number {
    return this.digester.size;
  }

  /** Resuming re-hashes the bytes already on disk: a hash state cannot be saved across processes. */
  static async open(store: DirectoryContentStore, dir: string, ref: string): Promise<IngestWriter> {
    const path = join(dir, 'data');
    const fh = await fs.open(path, 'a+');
    const digester = new Digester();
    for await (const chunk of fh.createReadStream({ start: 0, autoClose: false })) digester.update(chunk as Buffer);
    return new IngestWriter(store, dir, ref, fh, digester, new SpaceGuard(dir, undefined, `write ${path}: `));
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.space.wrote(chunk.length);
    try {
      // write(2) may take only part of a chunk (a filling disk does that before ENOSPC).
      for (let done = 0; done < chunk.length; ) done += (await this.fh.write(chunk, done, chunk.length - done)).bytesWritten;
    } catch (err) {
      // Part of the chunk may be on disk: keep the file equal to what was hashed.
      await this.fh.truncate(this.digester.size).catch(() => undefined);
      throw fromSystemError(err, 'write', join(this.dir, 'data'));
    }
    this.digester.update(chunk);
  }

  async truncate(): Promise<void> {
    await this.fh.truncate(0);
    this.digester = new Digester();
  }

  async commit(expected: { digest: Digest; size?: number }): Promise<BlobInfo> {
    const dataPath = join(this.dir, 'data');
    try {
      verifyDigest(`blob ${expected.digest}`, expected, { digest: this.digester.digest(), size: this.digester.size });
    } catch (err) {
      // Bytes that do not hash right are useless for a resume: drop them.
      await this.close();
      await fs.rm(this.dir, { recursive: true, force: true });
      throw err;
    }
    const target = this.store.blobPath(expected.digest);
    try {
      await this.fh.sync();
      await this.fh.close();
      await fs.mkdir(this.store.blobsDir, { recursive: true, mode: PRIVATE_DIR_MODE });
      await fs.rename(dataPath, target);
      await fsyncDir(this.store.blobsDir);
      await fs.rm(this.dir, { recursive: true, force: true });
    } catch (err) {
      throw fromSystemError(err, 'commit blob', target);
    }
    return { digest: expected.digest, size: this.digester.size, committedAt: Date.now() };
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    // An empty ingest has nothing to resume: leave no directory behind.
    if (this.digester.size === 0) await fs.rm(this.dir, { recursive: true, force: true });
    else await fs.rm(join(this.dir, 'lock'), { force: true });
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
