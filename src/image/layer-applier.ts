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
// Every call is synchronous: a layer is mostly small files, and an async call is a round trip
// through libuv's thread pool that costs several times the syscall itself (the 30,000-file
// benchmark image unpacked 5x slower with fs/promises: bench/RESULTS.md). Layers unpack on worker
// threads (unpack-pool.ts), so blocking here blocks no one else.
// Ownership, mode and times cost a syscall each per file; the ones that would change nothing (a
// root-owned file created by root, a mode the umask already gives) are left out, as tar does.
import * as fs from 'node:fs';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { BerthError, fromSystemError, invalid } from '../oci/errors.ts';
import { lsetxattr } from '../sys/xattr.ts';
import { mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '../sys/mknod.ts';
import type { TarSink } from './tar-parser.ts';
import type { TarHeader } from './tar-format.ts';
import { classifyWhiteout, entryComponents, printable } from './layer-path.ts';
import { ENTRY_COST_BYTES, SpaceGuard, type SpaceReserve } from './free-space.ts';

export interface ApplyLimits {
  maxEntries: number;
  maxEntryBytes: number;
  maxTotalBytes: number;
  /** Free space to keep on the snapshot's filesystem; by default reserveFor() of it. */
  reserve?: SpaceReserve;
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

/** The regular file whose data is arriving. */
interface OpenFile {
  fd: number;
  header: TarHeader;
  name: string;
  path: string;
  /** The parent directory, relative to the snapshot. */
  parentRel: string;
}

const S_ISGID = 0o2000;

export class LayerApplier implements TarSink {
  private readonly knownDirs = new Set<string>(['']);
  private readonly dirTimes = new Map<string, DirTimes>();
  /** Directories (relative paths) with the setgid bit, and their group: new entries inherit it. */
  private readonly setgidDirs = new Map<string, number>();
  private entries = 0;
  private bytes = 0;
  private readonly skippedXattrs: string[] = [];
  private file: OpenFile | undefined;
  private readonly uid = process.geteuid?.() ?? -1;
  private readonly gid = process.getegid?.() ?? -1;
  private readonly umask = processUmask();
  /** A layer may expand to far more than it weighs: writing stops while the store still has room. */
  private readonly space: SpaceGuard;

  constructor(
    private readonly root: string,
    private readonly limits: ApplyLimits = DEFAULT_APPLY_LIMITS,
  ) {
    const st = fs.statSync(root);
    if (st.mode & S_ISGID) this.setgidDirs.set('', st.gid);
    this.space = new SpaceGuard(root, limits.reserve);
  }

  entry(h: TarHeader): void {
    const name = printable(h.name);
    if (++this.entries > this.limits.maxEntries) {
      throw new BerthError('resource-exhausted', `layer has more than ${this.limits.maxEntries} entries (at "${name}")`, { field: name });
    }
    try {
      this.space.wrote(ENTRY_COST_BYTES);
      const parts = entryComponents(h.name);
      // The layer root itself ("./"): its attributes are the snapshot directory's own; skip it.
      if (parts.length === 0) return;
      const wh = classifyWhiteout(parts, h.name);
      if (wh.kind === 'meta') return;
      if (wh.kind === 'opaque') {
        const dir = this.ensureParents([...wh.dir, '.'], name);
        this.setXattr(dir, OPAQUE_XATTR, Buffer.from('y'), name);
        return;
      }
      if (wh.kind === 'whiteout') {
        const parent = this.ensureParents([...wh.dir, wh.target], name);
        const path = join(parent, wh.target);
        this.removeExisting(path, [...wh.dir, wh.target].join('/'));
        mknod(path, S_IFCHR | 0o000, 0, 0);
        return;
      }
      this.applyEntry(h, parts, name);
    } catch (err) {
      throw annotate(err, name);
    }
  }

  data(chunk: Buffer): void {
    const f = this.file;
    if (!f) return; // data of an entry that writes no file (the layer root)
    try {
      this.bytes += chunk.length;
      if (this.bytes > this.limits.maxTotalBytes) {
        throw new BerthError('resource-exhausted', `layer unpacks to more than ${this.limits.maxTotalBytes} bytes (at "${f.name}")`, { field: f.name });
      }
      this.space.wrote(chunk.length);
      for (let off = 0; off < chunk.length; ) off += fs.writeSync(f.fd, chunk, off, chunk.length - off);
    } catch (err) {
      throw annotate(err, f.name);
    }
  }

  end(): void {
    const f = this.file;
    if (!f) return;
    this.file = undefined;
    const h = f.header;
    try {
      try {
        // chown clears setuid/setgid bits and file capabilities: mode and xattrs come after it.
        const chowned = this.chownIfNeeded(h, f.parentRel, () => fs.fchownSync(f.fd, h.uid, h.gid));
        if (chowned || (h.mode & 0o7777) !== this.createdMode(h.mode)) fs.fchmodSync(f.fd, h.mode & 0o7777);
        this.setXattrs(f.path, h, f.name, true);
        fs.futimesSync(f.fd, h.mtime, h.mtime);
      } finally {
        fs.closeSync(f.fd);
      }
    } catch (err) {
      throw annotate(err, f.name);
    }
  }

  /** Closes a file left open by a failed or truncated stream. */
  abort(): void {
    if (this.file) fs.closeSync(this.file.fd);
    this.file = undefined;
  }

  private applyEntry(h: TarHeader, parts: string[], name: string): void {
    const rel = parts.join('/');
    const parent = this.ensureParents(parts, name);
    const parentRel = parentOf(rel);
    const path = join(parent, parts[parts.length - 1]!);
    const mode = h.mode & 0o7777;
    switch (h.type) {
      case 'dir': {
        const st = lstatOrUndefined(path);
        if (st && !st.isDirectory()) this.removeExisting(path, rel);
        if (!st || !st.isDirectory()) fs.mkdirSync(path, { mode: 0o700 });
        this.knownDirs.add(rel);
        const fd = fs.openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
        try {
          fs.fchownSync(fd, h.uid, h.gid);
          fs.fchmodSync(fd, mode);
        } finally {
          fs.closeSync(fd);
        }
        if (mode & S_ISGID) this.setgidDirs.set(rel, h.gid);
        else this.setgidDirs.delete(rel);
        this.setXattrs(path, h, name, true);
        this.dirTimes.set(rel, { path, mtime: h.mtime });
        return;
      }
      case 'file': {
        if (h.size > this.limits.maxEntryBytes) {
          throw new BerthError('resource-exhausted', `layer entry "${name}" is ${h.size} bytes, more than the ${this.limits.maxEntryBytes} allowed`, { field: name });
        }
        // O_EXCL: an existing entry (even a symlink) is never opened; it is removed and replaced.
        // Created with its final permission bits where the umask allows; special bits come after chown.
        const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
        const fd = this.replacing(path, rel, () => fs.openSync(path, flags, mode & 0o777));
        this.file = { fd, header: h, name, path, parentRel }; // data() and end() follow
        return;
      }
      case 'symlink': {
        this.replacing(path, rel, () => fs.symlinkSync(h.linkname, path));
        this.chownIfNeeded(h, parentRel, () => fs.lchownSync(path, h.uid, h.gid));
        this.setXattrs(path, h, name, false);
        fs.lutimesSync(path, h.mtime, h.mtime);
        return;
      }
      case 'hardlink': {
        const targetParts = entryComponents(h.linkname, `hardlink target of "${name}"`);
        if (targetParts.length === 0) throw invalid(`hardlink "${name}" points at the layer root`, { field: name });
        const targetParent = this.existingParents(targetParts, name);
        const target = join(targetParent, targetParts[targetParts.length - 1]!);
        const st = lstatOrUndefined(target);
        if (!st) throw invalid(`hardlink "${name}" points at "${printable(h.linkname)}", which this layer does not contain`, { field: name });
        if (st.isDirectory()) throw invalid(`hardlink "${name}" points at a directory`, { field: name });
        if (targetParts.join('/') === rel) return;
        this.removeExisting(path, rel);
        fs.linkSync(target, path);
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        this.removeExisting(path, rel);
        const type = h.type === 'char' ? S_IFCHR : h.type === 'block' ? S_IFBLK : S_IFIFO;
        mknod(path, type | 0o600, h.devmajor, h.devminor);
        fs.lchownSync(path, h.uid, h.gid);
        fs.chmodSync(path, mode);
        this.setXattrs(path, h, name, false);
        fs.lutimesSync(path, h.mtime, h.mtime);
        return;
      }
    }
  }

  /**
   * Runs `chown` unless the entry would get the wanted owner anyway: created by this process (its
   * euid) in a directory that gives it this process's egid, or the directory's group if setgid.
   */
  private chownIfNeeded(h: TarHeader, parentRel: string, chown: () => void): boolean {
    const inherited = this.setgidDirs.get(parentRel) ?? this.gid;
    if (h.uid === this.uid && h.gid === inherited) return false;
    chown();
    return true;
  }

  /** The permission bits a file created with `mode & 0o777` has: without the umask's bits. */
  private createdMode(mode: number): number {
    return mode & 0o777 & ~this.umask;
  }

  /**
   * Makes sure every parent of `parts` is a real directory inside the snapshot, creating missing
   * ones (tar does too), and returns the parent's path. A symlink or other file on the way is an error.
   */
  private ensureParents(parts: readonly string[], name: string): string {
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      const parentRel = rel;
      rel = rel ? `${rel}/${parts[i]}` : parts[i]!;
      if (this.knownDirs.has(rel)) continue;
      const path = join(this.root, rel);
      const st = lstatOrUndefined(path);
      if (!st) {
        fs.mkdirSync(path, { mode: 0o755 });
        // A new directory in a setgid directory is setgid too, with the same group.
        const gid = this.setgidDirs.get(parentRel);
        if (gid !== undefined) this.setgidDirs.set(rel, gid);
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
  private existingParents(parts: readonly string[], name: string): string {
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
  private replacing<T>(path: string, rel: string, create: () => T): T {
    try {
      return create();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    this.removeExisting(path, rel);
    return create();
  }

  /** Removes what is at `path` (a later entry replaces an earlier one, as tar does). */
  private removeExisting(path: string, rel: string): void {
    const st = lstatOrUndefined(path);
    if (!st) return;
    if (st.isDirectory()) {
      fs.rmSync(path, { recursive: true, force: true });
      const inside = (d: string): boolean => d === rel || d.startsWith(`${rel}/`);
      for (const d of [...this.knownDirs]) if (inside(d)) this.knownDirs.delete(d);
      for (const d of [...this.dirTimes.keys()]) if (inside(d)) this.dirTimes.delete(d);
      for (const d of [...this.setgidDirs.keys()]) if (inside(d)) this.setgidDirs.delete(d);
    } else {
      fs.unlinkSync(path);
    }
  }

  private setXattrs(path: string, h: TarHeader, name: string, userAllowed: boolean): void {
    for (const [key, value] of h.xattrs) {
      if (!xattrAllowed(key)) {
        this.skippedXattrs.push(`${name}: ${key}`);
        continue;
      }
      // The kernel refuses user.* attributes on symlinks and devices; tar skips them too.
      if (!userAllowed && key.startsWith('user.')) continue;
      this.setXattr(path, key, value, name);
    }
  }

  private setXattr(path: string, key: string, value: Buffer, name: string): void {
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
  finish(): ApplyResult {
    this.abort();
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

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

function lstatOrUndefined(path: string): fs.Stats | undefined {
  return fs.lstatSync(path, { throwIfNoEntry: false });
}

let umaskCache: number | undefined;

/** This process's umask, read once without changing it (process.umask() would, and workers may not). */
function processUmask(): number {
  umaskCache ??= readUmask();
  return umaskCache;
}

function readUmask(): number {
  try {
    const m = /^Umask:\s+([0-7]+)$/m.exec(fs.readFileSync('/proc/self/status', 'latin1'));
    if (m) return parseInt(m[1]!, 8);
  } catch {
    // no procfs: assume the strictest umask, so that every mode is set explicitly
  }
  return 0o777;
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
