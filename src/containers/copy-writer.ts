// `berth cp` into a tree: a tar stream's entries written below a directory fd. Every entry is
// created by a single name in its parent directory, and each parent is reached from the base fd
// one name at a time without following a symlink (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS):
// a symlink in the way, whether the archive made it or the container planted or swapped it in
// during the copy, is refused, so nothing is ever written outside the tree. Names with `..` are
// refused, as are devices and hard links; an existing file or symlink at a name is replaced (a directory is kept and merged).
import { closeSync, constants, fchmodSync, futimesSync, lstatSync, mkdirSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { BerthError, invalid } from '../oci/errors.ts';
import { entryComponents } from '../image/layer-path.ts';
import type { TarSink } from '../image/tar-parser.ts';
import type { TarHeader } from '../image/tar-format.ts';
import { O_PATH, openat2, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS } from '../sys/openat2.ts';

const BENEATH = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
const at = (dirFd: number, name: string): string => `/proc/self/fd/${dirFd}/${name}`;

export class TreeWriter implements TarSink {
  /** Directory fds by their path below the base ('' is the base). */
  private readonly dirs = new Map<string, number>();
  private file: { fd: number; header: TarHeader } | undefined;
  /** Entries written. */
  count = 0;

  /**
   * @param baseFd the directory entries go into (kept open by the caller)
   * @param rename the name the archive's first component gets (cp SRC DEST where DEST is new)
   * @param where how the destination is named in errors
   */
  constructor(
    baseFd: number,
    private readonly where: string,
    private readonly rename?: string,
  ) {
    this.dirs.set('', baseFd);
  }

  entry(header: TarHeader): void {
    const parts = entryComponents(header.name, 'archive entry');
    if (this.rename === '') parts.shift();
    else if (this.rename !== undefined && parts.length) parts[0] = this.rename;
    if (parts.length === 0) return; // the base itself
    const name = parts.pop()!;
    const dir = this.dirFd(parts);
    switch (header.type) {
      case 'dir':
        this.makeDir(dir, parts, name, header);
        break;
      case 'file': {
        this.clear(dir, name);
        const fd = openat2(dir, name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, BENEATH, header.mode & 0o7777);
        this.file = { fd, header };
        break;
      }
      case 'symlink':
        this.clear(dir, name);
        symlinkSync(header.linkname, at(dir, name));
        break;
      default:
        throw invalid(`archive entry ${JSON.stringify(header.name)}: a ${header.type} cannot be copied (files, directories and symlinks only)`, { field: header.name });
    }
    this.count++;
  }

  data(chunk: Buffer): void {
    if (this.file) for (let off = 0; off < chunk.length; ) off += writeSync(this.file.fd, chunk, off);
  }

  end(): void {
    if (!this.file) return;
    const { fd, header } = this.file;
    this.file = undefined;
    try {
      fchmodSync(fd, header.mode & 0o7777);
      futimesSync(fd, header.mtime, header.mtime);
    } finally {
      closeSync(fd);
    }
  }

  /** Closes every directory fd it opened (not the base). */
  close(): void {
    if (this.file) closeSync(this.file.fd);
    this.file = undefined;
    for (const [path, fd] of this.dirs) if (path !== '') closeSync(fd);
    this.dirs.clear();
  }

  private dirFd(parts: readonly string[]): number {
    let fd = this.dirs.get('')!;
    for (let i = 0; i < parts.length; i++) {
      const key = parts.slice(0, i + 1).join('/');
      let next = this.dirs.get(key);
      if (next === undefined) {
        next = this.openDir(fd, parts[i]!, key);
        this.dirs.set(key, next);
      }
      fd = next;
    }
    return fd;
  }

  private openDir(parent: number, name: string, key: string): number {
    try {
      return openat2(parent, name, O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW, BENEATH);
    } catch (err) {
      const errno = (err as BerthError).where?.errno;
      if (errno === 'ELOOP' || errno === 'ENOTDIR') throw new BerthError('failed-precondition', `cp: ${this.where}/${key} is not a directory (a symlink is never followed)`, { path: `${this.where}/${key}` });
      throw err;
    }
  }

  private makeDir(dir: number, parts: readonly string[], name: string, header: TarHeader): void {
    try {
      mkdirSync(at(dir, name), header.mode & 0o7777);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!lstatSync(at(dir, name)).isDirectory()) {
        this.clear(dir, name);
        mkdirSync(at(dir, name), header.mode & 0o7777);
      }
    }
    const key = [...parts, name].join('/');
    if (!this.dirs.has(key)) this.dirs.set(key, this.openDir(dir, name, key));
  }

  /** What is at `name` goes, unless it is a directory (an entry never replaces one). */
  private clear(dir: number, name: string): void {
    let st;
    try {
      st = lstatSync(at(dir, name));
    } catch {
      return;
    }
    if (st.isDirectory()) throw new BerthError('failed-precondition', `cp: cannot overwrite directory ${this.where}/${name} with a non-directory`, { path: name });
    unlinkSync(at(dir, name));
  }
}
