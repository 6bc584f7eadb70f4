// The image store: one root directory holding the content store, the metadata database and the
// overlay snapshots, opened together. Everything else (pull, push, unpack, GC, import/export)
// works through these small interfaces. Opening it closes the store to other users
// (store-permissions.ts).
import { join } from 'node:path';
import { DirectoryContentStore } from './content-store.ts';
import { openMetadataDb, type Db } from './metadata-db.ts';
import { ImageRecords } from './image-records.ts';
import { OverlaySnapshotter } from './overlay-snapshotter.ts';
import { secureStoreRoot } from './store-permissions.ts';

export const DEFAULT_ROOT = '/var/lib/berth';

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
    return new ImageStore(root, opts);
  }

  /** A scratch directory on the same filesystem as the store (for atomic renames). */
  tmpDir(): string {
    return join(this.root, 'tmp');
  }

  close(): void {
    this.db.close();
  }
}
