// ImageStatus: the image an id, tag or digest names, or an empty response when there is none (the
// kubelet pulls on an empty answer, so "not found" is not an error here).
import { checkStringMap } from '../request-limits.ts';
import type { ImageSpec } from '../cri-types.ts';
import type { CriContext } from './cri-context.ts';
import { verboseImageInfo } from './image-catalog.ts';
import type { UnaryRpc } from './rpc.ts';

export function imageStatus(ctx: CriContext): UnaryRpc {
  return async (req: { image?: ImageSpec | null; verbose?: boolean }) => {
    checkStringMap(req.image?.annotations, 'image.annotations');
    const entry = await ctx.images.find(req.image?.image ?? '');
    if (!entry) return { image: null, info: {} };
    return { image: entry.image, info: req.verbose ? verboseImageInfo(entry) : {} };
  };
}
