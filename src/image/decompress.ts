// Decompression of layer streams: gzip (zlib), zstd (zstd-napi), or none, as async iterables so
// that the unpack pipeline stays streamed with backpressure.
import { createGunzip } from 'node:zlib';
import { PassThrough, Readable, type Transform } from 'node:stream';
import { DecompressStream } from 'zstd-napi';
import { BerthError } from '../oci/errors.ts';
import type { LayerCompression } from '../oci/image-spec.ts';

function decompressor(compression: LayerCompression): Transform {
  switch (compression) {
    case 'gzip':
      // zlib's default 16 KiB output chunk costs a thread-pool round trip per 16 KiB: 128 KiB
      // halves the time to inflate a layer (bench/pull-unpack/unpack-phases.ts).
      return createGunzip({ chunkSize: 128 * 1024 });
    case 'zstd':
      return new DecompressStream() as unknown as Transform;
    case 'none':
      return new PassThrough();
  }
}

/** Detects the compression of a stream from its first bytes (for archives that do not say). */
export function sniffCompression(head: Uint8Array): LayerCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** `what` names the stream for callers that do not prefix errors themselves. */
export async function* decompress(source: AsyncIterable<Uint8Array>, compression: LayerCompression, what?: string): AsyncGenerator<Buffer> {
  const input = Readable.from(source, { objectMode: false });
  const d = decompressor(compression);
  input.on('error', (err) => d.destroy(err));
  input.pipe(d);
  try {
    for await (const chunk of d) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof BerthError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new BerthError('data-loss', `${what ? `${what}: ` : ''}${compression} stream is corrupt or truncated: ${e.message}`, { op: 'decompress' }, { cause: err });
  } finally {
    input.destroy();
    d.destroy();
  }
}
