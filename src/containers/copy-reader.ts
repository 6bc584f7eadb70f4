// `berth cp` out of a tree: a path under a root directory fd, as a tar stream. The path is
// resolved by the kernel inside the root (openat2 RESOLVE_IN_ROOT: `..` and symlinks cannot climb
// out); below it every entry is opened by a single name relative to its parent's fd, without
// following a symlink, so a container that swaps a directory for a symlink to / while the copy runs
// gets the symlink copied as a symlink, never the host's files. A symlink is copied as a symlink.
import { closeSync, fstatSync, openSync, readdirSync, readSync, type Stats } from 'node:fs';
import { constants } from 'node:fs';
import { fromSystemError } from '../oci/errors.ts';
import { padLength, TAR_END, tarHeader, type TarWriteEntry } from '../image/tar-writer.ts';
import { O_PATH, openat2, readlinkFd, RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS } from '../sys/openat2.ts';

const CHUNK = 64 * 1024;
const fdPath = (fd: number): string => `/proc/self/fd/${fd}`;

/** Opens `path` inside the root without following a final symlink (O_PATH). */
export function openInRoot(rootFd: number, path: string): number {
  return openat2(rootFd, path, O_PATH | constants.O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/** One name in a directory, never through a symlink (O_PATH). */
function openChild(dirFd: number, name: string): number {
  return openat2(dirFd, name, O_PATH | constants.O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

/**
 * The tar stream of the entry `fd` is open on (O_PATH), named `name`, and everything below it.
 * The fd is closed when done.
 */
export function* treeTar(fd: number, name: string): Generator<Buffer> {
  yield* entryTar(fd, name);
  yield TAR_END;
}

function* entryTar(fd: number, name: string): Generator<Buffer> {
  try {
    const st = fstatSync(fd);
    const base: TarWriteEntry = { name, type: 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
    if (st.isSymbolicLink()) yield tarHeader({ ...base, type: 'symlink', linkname: readlinkFd(fd) });
    else if (st.isDirectory()) {
      yield tarHeader({ ...base, type: 'dir' });
      for (const child of readdirSync(fdPath(fd)).sort()) {
        let childFd: number;
        try {
          childFd = openChild(fd, child);
        } catch (err) {
          if ((err as { where?: { errno?: string } }).where?.errno === 'ENOENT') continue; // removed meanwhile
          throw err;
        }
        yield* entryTar(childFd, `${name}/${child}`);
      }
    } else if (st.isFile()) yield* fileTar(fd, base, st);
    // Sockets, fifos and devices are left out (nothing to copy; docker's archiver leaves sockets out).
  } finally {
    closeSync(fd);
  }
}

function* fileTar(pathFd: number, base: TarWriteEntry, st: Stats): Generator<Buffer> {
  // Re-opened through the O_PATH fd: the same inode, whatever the name points at now.
  const fd = openFd(pathFd);
  try {
    yield tarHeader({ ...base, size: st.size });
    let left = st.size;
    const buf = Buffer.alloc(CHUNK);
    while (left > 0) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, left), null);
      if (n === 0) break;
      left -= n;
      yield Buffer.from(buf.subarray(0, n));
    }
    // A file that shrank meanwhile is padded to the size its header says.
    if (left > 0) yield Buffer.alloc(left);
    yield Buffer.alloc(padLength(st.size));
  } finally {
    closeSync(fd);
  }
}

function openFd(pathFd: number): number {
  try {
    return openSync(fdPath(pathFd), constants.O_RDONLY | constants.O_NOCTTY);
  } catch (err) {
    throw fromSystemError(err, 'open', fdPath(pathFd));
  }
}
