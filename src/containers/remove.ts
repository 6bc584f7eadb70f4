// Remove: the container and everything made for it, in reverse order of creation: the runtime's
// state (a running container is killed first, with `force`), then, once its monitor has recorded
// the end, the rootfs mount, the snapshot and the directory with the record.
import { BerthError } from '../oci/errors.ts';
import { mountIdsBelow, mountsBelowNow } from '../runtime/unmount-below.ts';
import { MNT_DETACH, umount } from '../sys/mount.ts';
import { detachNetwork } from './container-network.ts';
import { awaitExit, unwatch } from './exit-watch.ts';
import { viewNow } from './live-facts.ts';
import { withContainer, type ServiceContext } from './service-context.ts';
import { requireAllowed } from './transitions.ts';

export interface RemoveOptions {
  /** Kill a running container first. */
  force?: boolean;
  /** A container that does not exist is removed already (the CRI's RemoveContainer). */
  ifExists?: boolean;
}

/** How long the monitor may take to record an exit before the directory it writes into goes. */
const MONITOR_DONE_MS = 2000;

export async function removeContainer(ctx: ServiceContext, id: string, opts: RemoveOptions = {}): Promise<void> {
  try {
    await withContainer(ctx, id, async (record, lock) => {
      const view = viewNow(ctx, record);
      requireAllowed('remove', record.name, view, opts.force);
      const handler = ctx.handler(record.runtime);
      if (await handler.exists(id)) await handler.delete(id, true);
      // The monitor writes the exit file last: let it finish before the directory goes.
      if (view.supervision === 'supervised') await awaitExit(ctx, record, MONITOR_DONE_MS);
      // Its network goes while the record stays: a DEL that fails leaves the record to retry.
      await detachNetwork(ctx, record);
      const { dir, rootfs } = ctx.records.files(id);
      // Never a recursive removal through a mount: the rootfs is unmounted first, or nothing goes.
      const mounts = mountsBelowNow(dir);
      if (mounts.length) {
        // In-process umount2 (a syscall each), not a helper process: the service already loads libc.
        for (const m of mounts) umount(m.mountpoint, MNT_DETACH);
        if (mountIdsBelow(dir).length) throw new BerthError('internal', `container ${record.name}: ${dir} still holds a mount`, { path: rootfs });
      }
      const images = ctx.images();
      if (images.snapshots.stat(id)) await images.snapshots.remove(id);
      unwatch(ctx, id);
      ctx.records.remove(id);
      ctx.memory.delete(id);
      lock.release({ removeFile: true });
      ctx.events.emit('removed', id);
    });
  } catch (err) {
    if (opts.ifExists && err instanceof BerthError && err.kind === 'not-found' && !ctx.records.tryRead(id)) return;
    throw err;
  }
}
