// RemoveImage: every name of the image goes (the CRI removes an image by any one of its names),
// then what nothing references any more. A missing image is success: the call is idempotent.
// An image a container still runs from loses its names; its snapshots stay until the container goes.
import { checkStringMap } from '../request-limits.ts';
import type { ImageSpec } from '../cri-types.ts';
import { collectGarbage } from '../../image/gc.ts';
import type { CriContext } from './cri-context.ts';
import type { UnaryRpc } from './rpc.ts';

export function removeImage(ctx: CriContext): UnaryRpc {
  return async (req: { image?: ImageSpec | null }) => {
    checkStringMap(req.image?.annotations, 'image.annotations');
    const entry = await ctx.images.find(req.image?.image ?? '');
    if (!entry) return {};
    const names = entry.records.map((r) => r.name);
    ctx.store.db.transaction(() => {
      for (const name of names) ctx.store.records.delete(name);
    })();
    const freed = await collectGarbage(ctx.store);
    ctx.log.info('image removed', { id: entry.image.id, names: names.join(','), blobs: freed.blobsRemoved, snapshots: freed.snapshotsRemoved, bytes: freed.bytesFreed });
    return {};
  };
}
