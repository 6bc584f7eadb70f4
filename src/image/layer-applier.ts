// Writes the entries of one layer's tar stream into an empty snapshot directory, safely:
// - every name is reduced to plain components (layer-path.ts); `..` is refused;
// - each parent directory is checked with lstat, component by component, inside the snapshot:
//   a symlink (planted by this layer) or any non-directory on the way is refused, never followed;
//   earlier layers are never looked at, so their symlinks cannot be followed either;
// - files are created with O_CREAT|O_EXCL|O_NOFOLLOW; hardlinks must point at an entry already
//   written in this layer; whiteouts become overlayfs whiteouts (0/0 char devices and the
//   trusted.overlay.opaque xattr).
// Nothing in this layer's directory exists that this layer did not write, so this is enough: the
// directory is private to the unpack while it runs.
// The file system calls are synchronous on purpose: a layer is mostly small files, and each
// async call is a round trip through libuv's thread pool that costs several times the syscall
// itself (the 30,000-file benchmark image unpacked 5x slower with fs/promises: bench/RESULTS.md).
// Only large data writes go through the pool (writeChunk).
import * as fs from 'node:fs';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { BerthError, fromSystemError, invalid } from '../oci/errors.ts';
import { lsetxattr } from '../sys/xattr.ts';
import { mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '../sys/mknod.ts';
import type { TarEntry } from './tar-reader.ts';
import type { TarHeader } from './tar-format.ts';
import { classifyWhiteout, entryComponents, printable } from './layer-path.ts';

export interface ApplyLimits {
  maxEntries: number;
  maxEntryBytes: number;
  maxTotalBytes: number;
}

export const DEFAULT_APPLY_LIMITS: ApplyLimits = {
  maxEntries: 2_000_000,
  maxEntryBytes: 64 * 1024 ** 3,
  maxTotalBytes: 256 * 1024 ** 3,
};

export interface ApplyResult {
  entries: number;
  bytes: number;
  /** Xattrs found in the layer and not applied (overlay's own attributes), as `entry: name`. */
  skippedXattrs: string[];
}

const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Overlay interprets its own trusted.overlay.* attributes (redirects, metacopy); a layer may not set them. */
function xattrAllowed(name: string): boolean {
  return !name.startsWith('trusted.overlay.');
}

interface DirTimes {
  path: string;
  mtime: number;
}

export class LayerApplier {
  private readonly knownDirs = new Set<string>(['']);
  private readonly dirTimes = new Map<string, DirTimes>();
  private entries = 0;
  private bytes = 0;
  private readonly skippedXattrs: string[] = [];

  constructor(
    private readonly root: string,
    private readonly limits: ApplyLimits = DEFAULT_APPLY_LIMITS,
  ) {}

  async apply(entry: TarEntry): Promise<void> {
    const h = entry.header;
    const name = printable(h.name);
    if (++this.entries > this.limits.maxEntries) {
      throw new BerthError('resource-exhausted', `layer has more than ${this.limits.maxEntries} entries (at "${name}")`, { field: name });
    }
    const parts = entryComponents(h.name);
    if (parts.length === 0) {
      // The layer root itself ("./"): its attributes are the snapshot directory's own; skip it.
      return;
    }
    try {
      const wh = classifyWhiteout(parts, h.name);
      if (wh.kind === 'meta') return;
      if (wh.kind === 'opaque') {
        const dir = await this.ensureParents([...wh.dir, '.'], name);
        await this.setXattr(dir, OPAQUE_XATTR, Buffer.from('y'), name);
        return;
      }
      if (wh.kind === 'whiteout') {
        const parent = await this.ensureParents([...wh.dir, wh.target], name);
        const path = join(parent, wh.target);
        await this.removeExisting(path, [...wh.dir, wh.target].join('/'));
        mknod(path, S_IFCHR | 0o000, 0, 0);
        return;
      }
      await this.applyEntry(entry, h, parts, name);
    } catch (err) {
      throw annotate(err, name);
    }
  }

  private async applyEntry(entry: TarEntry, h: TarHeader, parts: string[], name: string): Promise<void> {
    const rel = parts.join('/');
    const parent = await this.ensureParents(parts, name);
    const path = join(parent, parts[parts.length - 1]!);
    const mode = h.mode & 0o7777;
    switch (h.type) {
      case 'dir': {
        const st = lstatOrUndefined(path);
        if (st && !st.isDirectory()) await this.removeExisting(path, rel);
        if (!st || !st.isDirectory()) fs.mkdirSync(path, { mode: 0o700 });
        this.knownDirs.add(rel);
        const fd = fs.openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
        try {
          fs.fchownSync(fd, h.uid, h.gid);
          fs.fchmodSync(fd, mode);
        } finally {
          fs.closeSync(fd);
        }
        await this.setXattrs(path, h, name, true);
        this.dirTimes.set(rel, { path, mtime: h.mtime });
        return;
      }
      case 'file': {
        if (h.size > this.limits.maxEntryBytes) {
          throw new BerthError('resource-exhausted', `layer entry "${name}" is ${h.size} bytes, more than the ${this.limits.maxEntryBytes} allowed`, { field: name });
        }
        // O_EXCL: an existing entry (even a symlink) is never opened; it is removed and replaced.
        const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
        const fd = await this.replacing(path, rel, () => fs.openSync(path, flags, 0o600));
        try {
          for await (const chunk of entry.body()) {
            this.bytes += chunk.length;
            if (this.bytes > this.limits.maxTotalBytes) {
              throw new BerthError('resource-exhausted', `layer unpacks to more than ${this.limits.maxTotalBytes} bytes (at "${name}")`, { field: name });
            }
            await writeChunk(fd, chunk);
          }
          // chown clears setuid/setgid bits and file capabilities: mode and xattrs come after it.
          fs.fchownSync(fd, h.uid, h.gid);
          fs.fchmodSync(fd, mode);
        } finally {
          fs.closeSync(fd);
        }
        await this.setXattrs(path, h, name, true);
        fs.lutimesSync(path, h.mtime, h.mtime);
        return;
      }
      case 'symlink': {
        await this.replacing(path, rel, () => fs.symlinkSync(h.linkname, path));
        fs.lchownSync(path, h.uid, h.gid);
        await this.setXattrs(path, h, name, false);
        fs.lutimesSync(path, h.mtime, h.mtime);
        return;
      }
      case 'hardlink': {
        const targetParts = entryComponents(h.linkname, `hardlink target of "${name}"`);
        if (targetParts.length === 0) throw invalid(`hardlink "${name}" points at the layer root`, { field: name });
        const targetParent = await this.existingParents(targetParts, name);
        const target = join(targetParent, targetParts[targetParts.length - 1]!);
        const st = lstatOrUndefined(target);
        if (!st) throw invalid(`hardlink "${name}" points at "${printable(h.linkname)}", which this layer does not contain`, { field: name });
        if (st.isDirectory()) throw invalid(`hardlink "${name}" points at a directory`, { field: name });
        if (targetParts.join('/') === rel) return;
        await this.removeExisting(path, rel);
        fs.linkSync(target, path);
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        await this.removeExisting(path, rel);
        const type = h.type === 'char' ? S_IFCHR : h.type === 'block' ? S_IFBLK : S_IFIFO;
        mknod(path, type | 0o600, h.devmajor, h.devminor);
        fs.lchownSync(path, h.uid, h.gid);
        fs.chmodSync(path, mode);
        await this.setXattrs(path, h, name, false);
        fs.lutimesSync(path, h.mtime, h.mtime);
        return;
      }
    }
  }

  /**
   * Makes sure every parent of `parts` is a real directory inside the snapshot, creating missing
   * ones (tar does too), and returns the parent's path. A symlink or other file on the way is an error.
   */
  private async ensureParents(parts: readonly string[], name: string): Promise<string> {
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      rel = rel ? `${rel}/${parts[i]}` : parts[i]!;
      if (this.knownDirs.has(rel)) continue;
      const path = join(this.root, rel);
      const st = lstatOrUndefined(path);
      if (!st) {
        fs.mkdirSync(path, { mode: 0o755 });
      } else if (st.isSymbolicLink()) {
        throw invalid(`layer entry "${name}": parent "${printable(rel)}" is a symlink; refusing to write through it`, { field: name });
      } else if (!st.isDirectory()) {
        throw invalid(`layer entry "${name}": parent "${printable(rel)}" is not a directory`, { field: name });
      }
      this.knownDirs.add(rel);
    }
    return rel ? join(this.root, rel) : this.root;
  }

  /** Like ensureParents but creates nothing (for hardlink targets). */
  private async existingParents(parts: readonly string[], name: string): Promise<string> {
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      rel = rel ? `${rel}/${parts[i]}` : parts[i]!;
      if (this.knownDirs.has(rel)) continue;
      const st = lstatOrUndefined(join(this.root, rel));
      if (!st || !st.isDirectory()) {
        throw invalid(`hardlink "${name}": target directory "${printable(rel)}" is not a directory in this layer`, { field: name });
      }
    }
    return rel ? join(this.root, rel) : this.root;
  }

  /**
   * Runs `create` (which fails with EEXIST when something is at `path`); if something is there,
   * removes it as removeExisting does and creates again. Saves an lstat per entry in the usual
   * case, where nothing is there.
   */
  private async replacing<T>(path: string, rel: string, create: () => T): Promise<T> {
    try {
      return create();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await this.removeExisting(path, rel);
    return create();
  }

  /** Removes what is at `path` (a later entry replaces an earlier one, as tar does). */
  private async removeExisting(path: string, rel: string): Promise<void> {
    const st = lstatOrUndefined(path);
    if (!st) return;
    if (st.isDirectory()) {
      await fs.promises.rm(path, { recursive: true, force: true });
      for (const d of [...this.knownDirs]) if (d === rel || d.startsWith(`${rel}/`)) this.knownDirs.delete(d);
      for (const d of [...this.dirTimes.keys()]) if (d === rel || d.startsWith(`${rel}/`)) this.dirTimes.delete(d);
    } else {
      fs.unlinkSync(path);
    }
  }

  private async setXattrs(path: string, h: TarHeader, name: string, userAllowed: boolean): Promise<void> {
    for (const [key, value] of h.xattrs) {
      if (!xattrAllowed(key)) {
        this.skippedXattrs.push(`${name}: ${key}`);
        continue;
      }
      // The kernel refuses user.* attributes on symlinks and devices; tar skips them too.
      if (!userAllowed && key.startsWith('user.')) continue;
      await this.setXattr(path, key, value, name);
    }
  }

  private async setXattr(path: string, key: string, value: Buffer, name: string): Promise<void> {
    try {
      lsetxattr(path, key, value);
    } catch (err) {
      throw new BerthError(
        err instanceof BerthError ? err.kind : 'internal',
        `layer entry "${name}": cannot set xattr ${key}: ${err instanceof BerthError ? err.where.errno ?? err.message : String(err)}`,
        { field: name, op: 'lsetxattr' },
        { cause: err },
      );
    }
  }

  /** Directory times last: writing children changes them. Deepest first. */
  async finish(): Promise<ApplyResult> {
    const dirs = [...this.dirTimes.values()].sort((a, b) => b.path.length - a.path.length);
    for (const d of dirs) {
      try {
        fs.lutimesSync(d.path, d.mtime, d.mtime);
      } catch (err) {
        throw fromSystemError(err, 'utimes', d.path);
      }
    }
    return { entries: this.entries, bytes: this.bytes, skippedXattrs: this.skippedXattrs };
  }
}

function lstatOrUndefined(path: string): fs.Stats | undefined {
  return fs.lstatSync(path, { throwIfNoEntry: false });
}

function annotate(err: unknown, name: string): BerthError {
  if (err instanceof BerthError) {
    if (err.message.includes(name)) return err;
    return new BerthError(err.kind, `layer entry "${name}": ${err.message}`, { ...err.where, field: name }, { cause: err });
  }
  const op = (err as { syscall?: string }).syscall ?? 'write';
  const e = fromSystemError(err, op);
  // The C library's words ("no space left on device"); describe() adds the errno name.
  const text = e.message.slice(op.length + 2);
  return new BerthError(e.kind, `layer entry "${name}": ${op} failed: ${text}`, { field: name, op, errno: e.where.errno }, { cause: err });
}

/**
 * From this size on, a write's copy into the page cache is worth a trip through the thread pool:
 * the other layers being unpacked go on meanwhile (5% off a pull of the benchmark image).
 */
const ASYNC_WRITE_BYTES = 64 * 1024;

async function writeChunk(fd: number, chunk: Buffer): Promise<void> {
  for (let off = 0; off < chunk.length; ) {
    const len = chunk.length - off;
    off += len >= ASYNC_WRITE_BYTES ? await writeAsync(fd, chunk, off, len) : fs.writeSync(fd, chunk, off, len);
  }
}

function writeAsync(fd: number, chunk: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, chunk, offset, length, null, (err, n) => (err ? reject(err) : resolve(n))));
}
