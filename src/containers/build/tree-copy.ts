// Copies files from a source tree (the build context, another stage's or an image's root) into a
// build step's root filesystem, safely and with COPY's metadata rules:
// - the source is read with lstat and O_NOFOLLOW: a symlink is copied as a link, never followed;
// - the destination's components were resolved inside the step's root (rootfs-path.ts); every
//   file is created with O_CREAT|O_EXCL|O_NOFOLLOW after whatever was in its way is removed, so
//   nothing is written through a link;
// - owners: --chown's, or the source's (COPY --from), or root (the context);
// - modes: --chmod's for everything, else the source's permission bits; mtimes are the source's;
// - xattrs (file capabilities) are copied, overlay's own never; hardlinks inside one copy stay
//   hardlinks.
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  rmSync,
  symlinkSync,
  writeSync,
  chmodSync,
  chownSync,
  utimesSync,
  mkdirSync,
  type Stats,
} from 'node:fs';
import { BerthError, fromSystemError } from '../../oci/errors.ts';
import { lgetxattr, llistxattr, lsetxattr } from '../../sys/xattr.ts';
import { mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '../../sys/mknod.ts';
import { hostPath, statInRoot } from './rootfs-path.ts';

export interface SourceTree {
  /** The host directory source paths are relative to. */
  root: string;
  /** Relative paths the build may read (the context after .dockerignore); all when undefined. */
  allowed?: ReadonlySet<string>;
  /** Keep the source's owners (COPY --from); the context's files become root's. */
  preserveOwners: boolean;
  /** Names the source in errors: "build context", "stage builder", "image busybox". */
  what: string;
}

export interface CopyRules {
  owner?: { uid: number; gid: number };
  chmod?: number;
}

const BUF = Buffer.allocUnsafe(1 << 20);
const keepXattr = (name: string): boolean => !name.startsWith('trusted.overlay.') && name !== 'security.selinux';

export class TreeCopier {
  private readonly links = new Map<string, string>();
  private readonly umask = process.umask();
  copied = 0;

  constructor(
    private readonly src: SourceTree,
    /** The step's mounted root filesystem. */
    private readonly destRoot: string,
    private readonly rules: CopyRules,
  ) {}

  allowed(rel: string): boolean {
    return !this.src.allowed || rel === '' || this.src.allowed.has(rel);
  }

  /**
   * Copies the source entry `srcRel` (already resolved inside the source) to `destParts`. A
   * directory's contents are merged into an existing directory there; `top` keeps that
   * directory's own metadata when it exists, as BuildKit does for the destination of a copy.
   */
  copy(srcRel: string, destParts: readonly string[], top = true): void {
    const srcPath = srcRel === '' ? this.src.root : `${this.src.root}/${srcRel}`;
    let st: Stats;
    try {
      st = lstatSync(srcPath);
    } catch (err) {
      throw fromSystemError(err, 'lstat', srcPath);
    }
    // A 0/0 character device is an overlay whiteout: copied into a layer it would delete files.
    if (st.isCharacterDevice() && st.rdev === 0) return;
    const dest = hostPath(this.destRoot, destParts);
    const existing = statInRoot(this.destRoot, destParts);
    if (st.isDirectory()) {
      if (existing && !existing.isDirectory()) this.remove(dest);
      const created = !existing || !existing.isDirectory();
      if (created) {
        try {
          mkdirSync(dest, { mode: 0o700 });
        } catch (err) {
          throw fromSystemError(err, 'mkdir', dest);
        }
      }
      let names: string[];
      try {
        names = readdirSync(srcPath).sort();
      } catch (err) {
        throw fromSystemError(err, 'readdir', srcPath);
      }
      for (const name of names) {
        const rel = srcRel === '' ? name : `${srcRel}/${name}`;
        if (!this.allowed(rel)) continue;
        this.copy(rel, [...destParts, name], false);
      }
      if (created || !top) this.setDirMetadata(dest, srcPath, st);
      this.copied++;
      return;
    }
    if (existing) this.remove(dest);
    if (st.isFile()) this.copyFile(srcPath, dest, st);
    else if (st.isSymbolicLink()) {
      try {
        symlinkSync(readlinkSync(srcPath), dest);
        const { uid, gid } = this.ownerOf(st);
        if (uid !== 0 || gid !== 0) lchownSync(dest, uid, gid);
        lutimesSync(dest, st.atime, st.mtime);
      } catch (err) {
        throw fromSystemError(err, 'symlink', dest);
      }
    } else if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
      const type = st.isFIFO() ? S_IFIFO : st.isCharacterDevice() ? S_IFCHR : S_IFBLK;
      mknod(dest, type | (st.mode & 0o777), Math.floor(st.rdev / 256) & 0xfff, (st.rdev & 0xff) | (Math.floor(st.rdev / 4096) & 0xfff00));
      const { uid, gid } = this.ownerOf(st);
      try {
        chownSync(dest, uid, gid);
        chmodSync(dest, this.modeOf(st));
        utimesSync(dest, st.atime, st.mtime);
      } catch (err) {
        throw fromSystemError(err, 'chown', dest);
      }
    } else {
      return; // sockets are not copied
    }
    this.copied++;
  }

  private ownerOf(st: Stats): { uid: number; gid: number } {
    if (this.rules.owner) return this.rules.owner;
    return this.src.preserveOwners ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 };
  }

  private modeOf(st: Stats): number {
    return this.rules.chmod ?? st.mode & 0o7777;
  }

  private remove(dest: string): void {
    try {
      rmSync(dest, { recursive: true, force: true });
    } catch (err) {
      throw fromSystemError(err, 'remove', dest);
    }
  }

  private copyXattrs(srcPath: string, dest: string): void {
    let names: string[];
    try {
      names = llistxattr(srcPath);
    } catch {
      return; // the source filesystem has none
    }
    for (const n of names) {
      if (!keepXattr(n)) continue;
      const v = lgetxattr(srcPath, n);
      if (v !== undefined) lsetxattr(dest, n, v);
    }
  }

  private setDirMetadata(dest: string, srcPath: string, st: Stats): void {
    const { uid, gid } = this.ownerOf(st);
    try {
      chownSync(dest, uid, gid);
      chmodSync(dest, this.modeOf(st));
      this.copyXattrs(srcPath, dest);
      utimesSync(dest, st.atime, st.mtime);
    } catch (err) {
      throw fromSystemError(err, 'set metadata', dest);
    }
  }

  private copyFile(srcPath: string, dest: string, st: Stats): void {
    const id = `${st.dev}:${st.ino}`;
    if (st.nlink > 1) {
      const first = this.links.get(id);
      if (first !== undefined) {
        try {
          linkSync(first, dest);
        } catch (err) {
          throw fromSystemError(err, 'link', dest);
        }
        return;
      }
      this.links.set(id, dest);
    }
    let inFd: number;
    try {
      inFd = openSync(srcPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      throw fromSystemError(err, 'open', srcPath);
    }
    try {
      const now = fstatSync(inFd);
      if (!now.isFile() || now.ino !== st.ino) throw new BerthError('failed-precondition', `${this.src.what}: ${srcPath} changed while it was copied`, { path: srcPath });
      const mode = this.modeOf(st);
      let outFd: number;
      try {
        outFd = openSync(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode & 0o777);
      } catch (err) {
        throw fromSystemError(err, 'create', dest);
      }
      try {
        for (;;) {
          const n = readSync(inFd, BUF, 0, BUF.length, null);
          if (n === 0) break;
          for (let off = 0; off < n; ) off += writeSync(outFd, BUF, off, n - off);
        }
        const { uid, gid } = this.ownerOf(st);
        if (uid !== 0 || gid !== 0) fchownSync(outFd, uid, gid);
        // chown clears setuid/setgid; the umask narrowed open's mode.
        if ((mode & 0o7000) !== 0 || (mode & this.umask) !== 0) fchmodSync(outFd, mode);
        futimesSync(outFd, st.atime, st.mtime);
      } finally {
        closeSync(outFd);
      }
      this.copyXattrs(srcPath, dest);
    } finally {
      closeSync(inFd);
    }
  }
}
