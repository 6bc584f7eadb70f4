// The image store: one root directory holding the content store, the metadata database and the
// overlay snapshots, opened together. Everything else (pull, push, unpack, GC, import/export)
// works through these small interfaces. Opening it closes the store to other users
// (store-permissions.ts).
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsUsage, reserveFor, type FsUsage } from './free-space.ts';
import { DirectoryContentStore } from './content-store.ts';
import { openMetadataDb, type Db } from './metadata-db.ts';
import { ImageRecords } from './image-records.ts';
import { OverlaySnapshotter } from './overlay-snapshotter.ts';
import { secureStoreRoot } from './store-permissions.ts';

export const DEFAULT_ROOT = '/var/lib/berth';

const SPACE_RESERVE_FILE = 'space-reserve';

/** 1 MiB (256 pages of SQLite journal), less on a filesystem too small to spare it. */
function spaceReserveBytes(fs: FsUsage): number {
  return Math.min(1024 * 1024, Math.floor(reserveFor(fs).minFreeBytes / 8 / 4096) * 4096);
}

export interface ImageStoreOptions {
  /** Overlay mount option budget (tests lower it to exercise relative lowerdirs). */
  maxOverlayOptionBytes?: number;
  /** Told when opening had to close parts of the store other users could enter. */
  warn?: (message: string) => void;
}

export class ImageStore {
  readonly content: DirectoryContentStore;
  readonly db: Db;
  readonly records: ImageRecords;
  readonly snapshots: OverlaySnapshotter;

  private constructor(readonly root: string, opts: ImageStoreOptions) {
    secureStoreRoot(root, ['content', 'snapshots', 'tmp'], opts.warn);
    this.content = new DirectoryContentStore(root);
    this.db = openMetadataDb(root);
    this.records = new ImageRecords(this.db);
    this.snapshots = new OverlaySnapshotter(root, this.db, opts.maxOverlayOptionBytes);
  }

  static open(root: string = DEFAULT_ROOT, opts: ImageStoreOptions = {}): ImageStore {
    const store = new ImageStore(root, opts);
    store.keepSpaceReserve();
    return store;
  }

  private get spaceReservePath(): string {
    return join(this.root, SPACE_RESERVE_FILE);
  }

  /**
   * Keeps a small file of real blocks in the store while there is room for it. Removal deletes it
   * when the disk is full (releaseSpaceReserveIfLow), so that the database has the space it needs
   * to record what `rmi` and `prune` remove before their files are gone.
   */
  keepSpaceReserve(): void {
    try {
      if (existsSync(this.spaceReservePath)) return;
      const fs = fsUsage(this.root);
      const size = spaceReserveBytes(fs);
      if (fs.freeBytes < reserveFor(fs).minFreeBytes + 2 * size) return;
      const tmp = `${this.spaceReservePath}.${process.pid}.tmp`;
      writeFileSync(tmp, Buffer.alloc(size), { mode: 0o600 });
      renameSync(tmp, this.spaceReservePath);
    } catch {
      // A read-only store, or one that filled up meanwhile: it works without.
    }
  }

  /** Gives the reserve file's space back when the filesystem is below berth's free-space reserve. */
  releaseSpaceReserveIfLow(): void {
    try {
      const fs = fsUsage(this.root);
      if (fs.freeBytes < reserveFor(fs).minFreeBytes) rmSync(this.spaceReservePath, { force: true });
    } catch {
      // Nothing to give back.
    }
  }

  /** A scratch directory on the same filesystem as the store (for atomic renames). */
  tmpDir(): string {
    return join(this.root, 'tmp');
  }

  close(): void {
    this.db.close();
  }
}
