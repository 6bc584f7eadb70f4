// One container at a time: an in-process mutex (operations of one service, and of two services in
// one process, queue without touching the disk) and then flock(2) on the container's lock file,
// so that berth and berthd never act on one container at once. The kernel drops a dead holder's
// lock: a killed berth never leaves a container locked.
import { lockFile, type FileLock } from '../sys/flock.ts';

/** Mutexes by lock path, shared by every service in this process. */
const queues = new Map<string, Promise<void>>();

export interface HeldLock {
  /** Drops the lock; with `removeFile`, the lock file goes too (the container is gone). */
  release(opts?: { removeFile?: boolean }): void;
}

/**
 * Waits for the lock at `path` (this process's queue first, then other processes'). `stillWanted`
 * runs once this process's turn has come, before the lock file is touched: it throws when there
 * is nothing left to lock (the container was removed by the one before).
 */
export async function acquire(path: string, stillWanted?: () => void): Promise<HeldLock> {
  const before = queues.get(path) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const tail = before.then(() => mine);
  queues.set(path, tail);
  await before;
  let file: FileLock;
  try {
    stillWanted?.();
    file = await lockFile(path);
  } catch (err) {
    finish();
    throw err;
  }
  function finish(): void {
    if (queues.get(path) === tail) queues.delete(path);
    done();
  }
  let released = false;
  return {
    release: (opts) => {
      if (released) return;
      released = true;
      file.release(opts);
      finish();
    },
  };
}

/** Runs `fn` holding the lock at `path`. */
export async function withLock<T>(path: string, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const lock = await acquire(path);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}
