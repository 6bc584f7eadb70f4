// An overlay upper directory (what a build step changed) as an image layer: a tar in the OCI
// changeset format, written with berth's tar writer, gzipped into the content store.
//  - entries in path order (each directory's names sorted), parents before children;
//  - overlay whiteouts (0/0 character devices) become `.wh.NAME` files, an opaque directory
//    (trusted.overlay.opaque=y) is followed by `DIR/.wh..wh..opq`;
//  - files sharing an inode become one file and hardlinks to it;
//  - xattrs are kept (security.capability included) except overlay's own trusted.overlay.*;
//  - headers are normalised: integer mtimes (clamped to SOURCE_DATE_EPOCH when given), no uname,
//    gname, atime or ctime, so the same tree always gives the same bytes.
// Symlinks are recorded, never followed; files are opened with O_NOFOLLOW.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { BerthError, fromSystemError } from '../../oci/errors.ts';
import { Digester, type Digest } from '../../oci/digest.ts';
import { MediaType, type Descriptor } from '../../oci/image-spec.ts';
import type { ContentStore } from '../../image/content-store.ts';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from '../../image/layer-path.ts';
import { padLength, TAR_END, tarHeader, type TarWriteEntry } from '../../image/tar-writer.ts';
import { lgetxattr, llistxattr } from '../../sys/xattr.ts';

export interface LayerOptions {
  /** SOURCE_DATE_EPOCH: no mtime in the layer is later than this (seconds). */
  epoch?: number;
  /** gzip level (zlib's 1-9); 6 by default, as docker and BuildKit compress. */
  level?: number;
}

export interface BuiltLayer {
  descriptor: Descriptor;
  diffId: Digest;
  /** Entries written (whiteouts included). */
  entries: number;
}

const FLUSH_BYTES = 1 << 20;
const OPAQUE_XATTR = 'trusted.overlay.opaque';

const keepXattr = (name: string): boolean => !name.startsWith('trusted.overlay.') && name !== 'security.selinux';

function major(rdev: number): number {
  return Math.floor(rdev / 256) & 0xfff;
}

function minor(rdev: number): number {
  return (rdev & 0xff) | ((Math.floor(rdev / 4096) & 0xfff00) >>> 0);
}

/** The tar stream of `dir`'s changes, in chunks of about a MiB. */
export function* upperTar(dir: string, opts: LayerOptions = {}, counter?: { entries: number }): Generator<Buffer> {
  const parts: Buffer[] = [];
  let pending = 0;
  const push = (b: Buffer): Buffer | undefined => {
    parts.push(b);
    pending += b.length;
    if (pending < FLUSH_BYTES) return undefined;
    const out = Buffer.concat(parts);
    parts.length = 0;
    pending = 0;
    return out;
  };
  const links = new Map<string, string>();
  const mtimeOf = (st: Stats): number => {
    const t = Math.floor(st.mtimeMs / 1000);
    return opts.epoch !== undefined && t > opts.epoch ? opts.epoch : Math.max(0, t);
  };
  const xattrsOf = (path: string): Map<string, Buffer> | undefined => {
    let names: string[];
    try {
      names = llistxattr(path).filter(keepXattr).sort();
    } catch {
      return undefined; // a filesystem without xattrs
    }
    if (names.length === 0) return undefined;
    const out = new Map<string, Buffer>();
    for (const n of names) {
      const v = lgetxattr(path, n);
      if (v !== undefined) out.set(n, v);
    }
    return out;
  };

  // Depth-first: a directory's entry, then its children in name order.
  const walk = function* (rel: string): Generator<Buffer> {
    const abs = rel === '' ? dir : join(dir, rel);
    let names: string[];
    try {
      names = readdirSync(abs).sort();
    } catch (err) {
      throw fromSystemError(err, 'readdir', abs);
    }
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(dir, path);
      let st: Stats;
      try {
        st = lstatSync(full);
      } catch (err) {
        throw fromSystemError(err, 'lstat', full);
      }
      const base = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, mtime: mtimeOf(st) };
      let header: TarWriteEntry | undefined;
      let fileData = false;
      const whiteout = st.isCharacterDevice() && st.rdev === 0;
      if (whiteout) {
        header = { name: rel === '' ? `${WHITEOUT_PREFIX}${name}` : `${rel}/${WHITEOUT_PREFIX}${name}`, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: base.mtime };
      } else if (st.isDirectory()) {
        header = { name: `${path}/`, type: 'dir', ...base };
      } else if (st.isSymbolicLink()) {
        header = { name: path, type: 'symlink', ...base, linkname: readlinkSync(full) };
      } else if (st.isFile()) {
        const id = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(id) : undefined;
        if (first !== undefined) header = { name: path, type: 'hardlink', ...base, linkname: first };
        else {
          if (st.nlink > 1) links.set(id, path);
          header = { name: path, type: 'file', ...base, size: st.size };
          fileData = true;
        }
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        header = { name: path, type: st.isCharacterDevice() ? 'char' : 'block', ...base, devmajor: major(st.rdev), devminor: minor(st.rdev) };
      } else if (st.isFIFO()) {
        header = { name: path, type: 'fifo', ...base };
      } else {
        continue; // sockets are not part of an image
      }
      if (!whiteout) {
        const xattrs = xattrsOf(full);
        if (xattrs) header.xattrs = xattrs;
      }
      if (counter) counter.entries++;
      let out = push(tarHeader(header));
      if (out) yield out;
      if (fileData) yield* fileBody(full, st, push);
      if (st.isDirectory()) {
        if (lgetxattr(full, OPAQUE_XATTR)?.toString() === 'y') {
          if (counter) counter.entries++;
          out = push(tarHeader({ name: `${path}/${OPAQUE_WHITEOUT}`, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: base.mtime }));
          if (out) yield out;
        }
        yield* walk(path);
      }
    }
  };
  yield* walk('');
  parts.push(TAR_END);
  yield Buffer.concat(parts);
}

function* fileBody(path: string, st: Stats, push: (b: Buffer) => Buffer | undefined): Generator<Buffer> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw fromSystemError(err, 'open', path);
  }
  try {
    const now = fstatSync(fd);
    if (!now.isFile() || now.ino !== st.ino) throw new BerthError('internal', `${path} changed while its layer was written`, { path });
    let left = st.size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, FLUSH_BYTES));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) throw new BerthError('internal', `${path} shrank while its layer was written`, { path });
      left -= n;
      const out = push(n === buf.length ? buf : buf.subarray(0, n));
      if (out) yield out;
    }
    const pad = padLength(st.size);
    if (pad) {
      const out = push(Buffer.alloc(pad));
      if (out) yield out;
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes `dir` as a gzipped layer blob into the content store. */
export async function writeUpperLayer(content: ContentStore, dir: string, opts: LayerOptions = {}): Promise<BuiltLayer> {
  const diff = new Digester();
  const blob = new Digester();
  const counter = { entries: 0 };
  const w = await content.writer(`build-layer-${randomUUID()}`);
  try {
    await w.truncate();
    const tar = (function* () {
      for (const chunk of upperTar(dir, opts, counter)) {
        diff.update(chunk);
        yield chunk;
      }
    })();
    await pipeline(Readable.from(tar, { objectMode: false }), createGzip({ level: opts.level ?? 6, chunkSize: 128 * 1024 }), async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) {
        blob.update(c);
        await w.write(c);
      }
    });
    const digest = blob.digest();
    await w.commit({ digest, size: blob.size });
    return { descriptor: { mediaType: MediaType.ociLayerGzip, digest, size: blob.size }, diffId: diff.digest(), entries: counter.entries };
  } catch (err) {
    await w.close().catch(() => undefined);
    await content.abortIngest(w.ref).catch(() => undefined);
    throw err;
  }
}
