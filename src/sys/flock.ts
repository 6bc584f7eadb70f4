// flock(2): an exclusive lock on a file, shared by every process on the machine, released by the
// kernel when its holder dies. A lock that another process holds is waited for on a libuv pool
// thread (koffi's async call), never by blocking the event loop or by polling.
import { closeSync, fstatSync, openSync, statSync, unlinkSync } from 'node:fs';
import { fromSystemError } from '../oci/errors.ts';
import { errnoError, lastErrno, libc } from './libc.ts';

const flockC = libc.func('int flock(int fd, int operation)');
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = 11;
const EINTR = 4;

export interface FileLock {
  /** Drops the lock; with `removeFile`, removes the lock file first (nothing to lock any more). */
  release(opts?: { removeFile?: boolean }): void;
}

function waitForLock(fd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    flockC.async(fd, LOCK_EX, (err: unknown, rc: number) => (err ? reject(err) : resolve(rc)));
  });
}

/**
 * Takes the exclusive lock of `path` (created if missing, mode 0600). A lock file removed or
 * replaced while we waited is not the lock any more: then it is taken again on the new file.
 */
export async function lockFile(path: string): Promise<FileLock> {
  for (;;) {
    let fd: number;
    try {
      fd = openSync(path, 'a+', 0o600);
    } catch (err) {
      throw fromSystemError(err, 'open lock file', path);
    }
    try {
      if (flockC(fd, LOCK_EX | LOCK_NB) !== 0) {
        const errno = lastErrno();
        if (errno !== EWOULDBLOCK && errno !== EINTR) throw errnoError('flock', path, errno);
        if ((await waitForLock(fd)) !== 0) throw errnoError('flock', path, EINTR);
      }
      if (sameFile(fd, path)) return held(fd, path);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    closeSync(fd);
  }
}

function sameFile(fd: number, path: string): boolean {
  try {
    return fstatSync(fd).ino === statSync(path).ino;
  } catch {
    return false; // removed meanwhile
  }
}

function held(fd: number, path: string): FileLock {
  let released = false;
  return {
    release: (opts = {}) => {
      if (released) return;
      released = true;
      if (opts.removeFile) {
        try {
          unlinkSync(path);
        } catch {
          // gone already
        }
      }
      flockC(fd, LOCK_UN);
      closeSync(fd);
    },
  };
}
