// Free space on the store's filesystem. Writers of untrusted amounts of data (layer unpacking, blob
// ingests, archive staging) stop while a reserve is still free, checking statfs as they write: a
// 2 MB layer that expands to 2 GiB fails with `no space left on device` naming the layer, and the
// store keeps room to remove what was written and to update its database. The policy is pure.
import { lstatSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, fromSystemError } from '../oci/errors.ts';

export interface SpaceReserve {
  /** Bytes kept free; writing stops below this. */
  minFreeBytes: number;
  /** Inodes kept free (0: the filesystem does not count inodes). */
  minFreeInodes: number;
  /** Bytes written between two statfs checks. */
  checkEveryBytes: number;
}

/** What statfs says, in the units the policy needs. */
export interface FsUsage {
  totalBytes: number;
  freeBytes: number;
  totalInodes: number;
  freeInodes: number;
}

/** Each created entry costs an inode and directory space: counted as this many bytes written. */
export const ENTRY_COST_BYTES = 4096;

const MiB = 1024 * 1024;
const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);

/**
 * The reserve for a filesystem: 2% of it, at least 8 MiB and at most 512 MiB, but never more than an
 * eighth of a small filesystem. Checks come often enough (a sixteenth of the reserve) that several
 * layers writing at once cannot overshoot it between two checks.
 */
export function reserveFor(fs: Pick<FsUsage, 'totalBytes' | 'totalInodes'>): SpaceReserve {
  const minFreeBytes = Math.floor(Math.min(clamp(fs.totalBytes * 0.02, 8 * MiB, 512 * MiB), fs.totalBytes / 8));
  const minFreeInodes = fs.totalInodes > 0 ? Math.floor(Math.min(clamp(fs.totalInodes * 0.02, 256, 50_000), fs.totalInodes / 8)) : 0;
  return { minFreeBytes, minFreeInodes, checkEveryBytes: Math.floor(clamp(minFreeBytes / 16, 16 * 1024, 8 * MiB)) };
}

export function formatSize(bytes: number): string {
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1).replace(/\.0$/, '')} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${bytes} B`;
}

/** Why writing must stop, or undefined while the reserve is intact. */
export function reserveShortfall(fs: FsUsage, reserve: SpaceReserve): string | undefined {
  if (fs.freeBytes < reserve.minFreeBytes) {
    return `stopped with ${formatSize(fs.freeBytes)} free, below the ${formatSize(reserve.minFreeBytes)} kept free for the store`;
  }
  if (reserve.minFreeInodes > 0 && fs.freeInodes < reserve.minFreeInodes) {
    return `stopped with ${fs.freeInodes} inodes free, below the ${reserve.minFreeInodes} kept free for the store`;
  }
  return undefined;
}

export function fsUsage(path: string): FsUsage {
  try {
    const s = statfsSync(path);
    // bavail: what an unprivileged writer may use (root's reserved blocks stay out of the count).
    return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize, totalInodes: s.files, freeInodes: s.ffree };
  } catch (err) {
    throw fromSystemError(err, 'statfs', path);
  }
}

/** The error a writer stops with: ENOSPC, as the kernel would have said a little later. */
export function outOfSpace(what: string, detail: string): BerthError {
  return new BerthError('resource-exhausted', `${what}no space left on device (${detail})`, { errno: 'ENOSPC' });
}

/** Counts what a writer wrote and checks the filesystem on the first write, then every `checkEveryBytes`. */
export class SpaceGuard {
  private sinceCheck = Infinity;

  /** `what` prefixes the error ("write <path>: "); empty when the caller adds its own context. */
  constructor(
    private readonly path: string,
    readonly reserve: SpaceReserve = reserveFor(fsUsage(path)),
    private readonly what = '',
  ) {}

  wrote(bytes: number): void {
    this.sinceCheck += bytes;
    if (this.sinceCheck >= this.reserve.checkEveryBytes) this.check();
  }

  check(): void {
    this.sinceCheck = 0;
    const detail = reserveShortfall(fsUsage(this.path), this.reserve);
    if (detail) throw outOfSpace(this.what, detail);
  }
}

/** ENOSPC or EDQUOT from a file write, or SQLite's SQLITE_FULL from the metadata database. */
export function isOutOfSpace(err: unknown): boolean {
  if (err instanceof BerthError) return err.where.errno === 'ENOSPC' || err.where.errno === 'EDQUOT';
  const code = (err as { code?: unknown })?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT';
}

/** An out-of-space error as berth reports it: a BerthError as is, SQLite's named for the database. */
export function outOfSpaceError(err: unknown, what: string, root: string): unknown {
  if (err instanceof BerthError) return err;
  return new BerthError('resource-exhausted', `${what}: metadata database in ${root}: ${(err as Error).message}`, { path: root, errno: 'ENOSPC' }, { cause: err });
}

/**
 * The space that removing `path` (a file or a whole tree) gives back: allocated blocks, as du
 * counts them, of every inode whose links are all inside it. 0 when it does not exist.
 */
export function allocatedBytes(path: string): number {
  const links = new Map<string, { seen: number; nlink: number; bytes: number }>();
  let total = 0;
  const visit = (p: string): void => {
    const st = lstatSync(p, { throwIfNoEntry: false, bigint: false });
    if (!st) return;
    const bytes = st.blocks * 512;
    if (st.nlink > 1 && !st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      const l = links.get(id) ?? { seen: 0, nlink: st.nlink, bytes };
      l.seen++;
      links.set(id, l);
    } else {
      total += bytes;
    }
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
  };
  try {
    visit(path);
  } catch {
    // A tree changing under us: what was counted so far.
  }
  for (const l of links.values()) if (l.seen >= l.nlink) total += l.bytes;
  return total;
}
