// The filesystems a build step works on, as snapshots of the store: a writable one over the
// stage's layer chain (prepared, mounted, then committed under its layer chain id or removed),
// and read-only views of another stage or image (for COPY --from and RUN bind mounts).
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../oci/digest.ts';
import { BerthError } from '../../oci/errors.ts';
import type { ImageStore } from '../../image/image-store.ts';
import { mountSnapshot, unmountSnapshot } from '../../image/mount-snapshot.ts';
import { BUILD_PREFIX } from '../../image/gc.ts';
import type { Lease } from '../../image/leases.ts';

export class StepRootfs {
  private mounted = false;

  private constructor(
    private readonly store: ImageStore,
    /** The active snapshot's key. */
    readonly key: string,
    /** Where it is mounted. */
    readonly rootfs: string,
  ) {}

  /** Prepares an active snapshot over `parent` (a committed chain id, or none) and mounts it. */
  static async open(store: ImageStore, parent: Digest | undefined, scratch: string, lease: Lease): Promise<StepRootfs> {
    const key = `${BUILD_PREFIX}${randomUUID()}`;
    lease.addSnapshot(key);
    const spec = await store.snapshots.prepare(key, parent);
    const rootfs = join(scratch, `rootfs-${key}`);
    const step = new StepRootfs(store, key, rootfs);
    try {
      mkdirSync(rootfs, { mode: 0o755 });
      await mountSnapshot(spec, rootfs);
      step.mounted = true;
    } catch (err) {
      await step.discard();
      throw err;
    }
    return step;
  }

  /** The snapshot's own files: the overlay's upper directory (what the step changed). */
  get upperDir(): string {
    return this.store.snapshots.contentDir(this.key);
  }

  unmount(): void {
    if (!this.mounted) return;
    unmountSnapshot(this.rootfs, true);
    this.mounted = false;
    try {
      rmdirSync(this.rootfs);
    } catch {
      // the scratch directory goes with the build
    }
  }

  /** Keeps the step's changes as the committed snapshot `chainId` (or drops them if it exists). */
  async commit(chainId: Digest): Promise<void> {
    this.unmount();
    if (!this.store.snapshots.stat(chainId)) {
      try {
        await this.store.snapshots.commit(chainId, this.key);
        return;
      } catch (err) {
        // Another build committed the same layer meanwhile: use theirs.
        if (!(err instanceof BerthError && err.kind === 'already-exists')) throw err;
      }
    }
    await this.store.snapshots.remove(this.key);
  }

  async discard(): Promise<void> {
    try {
      this.unmount();
    } finally {
      if (this.store.snapshots.stat(this.key)) await this.store.snapshots.remove(this.key);
    }
  }
}

/** A read-only mount of a committed chain (an empty directory for an empty one). */
export async function mountView(store: ImageStore, top: Digest | undefined, scratch: string, lease: Lease): Promise<{ root: string; release: () => Promise<void> }> {
  const root = join(scratch, `view-${randomUUID()}`);
  mkdirSync(root, { mode: 0o755 });
  if (top === undefined) return { root, release: async () => rmdirSync(root) };
  const key = `${BUILD_PREFIX}view-${randomUUID()}`;
  lease.addSnapshot(key);
  const spec = await store.snapshots.view(key, top);
  try {
    await mountSnapshot(spec, root);
  } catch (err) {
    await store.snapshots.remove(key);
    throw err;
  }
  return {
    root,
    release: async () => {
      unmountSnapshot(root, true);
      await store.snapshots.remove(key);
      rmdirSync(root);
    },
  };
}
