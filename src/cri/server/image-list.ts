// ListImages and StreamImages: every image, or the one a filter names (by id, tag or digest).
import { checkStringMap } from '../request-limits.ts';
import type { ImageSpec } from '../cri-types.ts';
import type { CriContext } from './cri-context.ts';
import { matchImage, type CriImage } from './image-catalog.ts';
import type { StreamingRpc, UnaryRpc } from './rpc.ts';

interface ListImagesRequest {
  filter?: { image?: ImageSpec | null } | null;
}

/** Images per StreamImages message: far below the 16 MiB message cap even with long names. */
export const STREAM_BATCH = 256;

async function selected(ctx: CriContext, req: ListImagesRequest): Promise<CriImage[]> {
  const spec = req.filter?.image;
  checkStringMap(spec?.annotations, 'filter.image.annotations');
  const entries = await ctx.images.list();
  const wanted = spec?.image ?? '';
  if (wanted === '') return entries.map((e) => e.image);
  const found = matchImage(entries, wanted);
  return found ? [found.image] : [];
}

export function listImages(ctx: CriContext): UnaryRpc {
  return async (req: ListImagesRequest) => ({ images: await selected(ctx, req) });
}

export function streamImages(ctx: CriContext): StreamingRpc {
  return async (req: ListImagesRequest, send) => {
    const images = await selected(ctx, req);
    for (let i = 0; i < images.length; i += STREAM_BATCH) send({ images: images.slice(i, i + STREAM_BATCH) });
  };
}
