// Streams one layer into a snapshot directory: compressed bytes -> decompress -> diff_id digest ->
// tar parser -> LayerApplier, each decompressed chunk parsed and written synchronously. No
// temporary tarball; memory stays bounded by the chunk sizes.
import { BerthError } from '../oci/errors.ts';
import { Digester, type Digest } from '../oci/digest.ts';
import type { LayerCompression } from '../oci/image-spec.ts';
import { decompress } from './decompress.ts';
import { TarParser, DEFAULT_TAR_LIMITS, type TarLimits } from './tar-parser.ts';
import { LayerApplier, DEFAULT_APPLY_LIMITS, type ApplyLimits, type ApplyResult } from './layer-applier.ts';

export interface UnpackOptions {
  /** The empty directory to write into (an active snapshot's content dir). */
  dir: string;
  compression: LayerCompression;
  /** The layer's uncompressed digest from the image config (rootfs.diff_ids[i]); checked at the end. */
  diffId?: Digest;
  /** Names the layer in errors, e.g. its blob digest. */
  what: string;
  tarLimits?: TarLimits;
  applyLimits?: ApplyLimits;
  /** Called as uncompressed bytes flow. */
  onBytes?: (uncompressed: number) => void;
}

export interface UnpackResult extends ApplyResult {
  diffId: Digest;
  uncompressedSize: number;
}

export async function unpackLayer(source: AsyncIterable<Uint8Array>, opts: UnpackOptions): Promise<UnpackResult> {
  const digester = new Digester();
  const applier = new LayerApplier(opts.dir, opts.applyLimits ?? DEFAULT_APPLY_LIMITS);
  const parser = new TarParser(applier, opts.tarLimits ?? DEFAULT_TAR_LIMITS);
  let result: ApplyResult;
  try {
    // The diff_id covers the whole uncompressed stream, including padding after the end marker.
    for await (const chunk of decompress(source, opts.compression)) {
      digester.update(chunk);
      opts.onBytes?.(digester.size);
      if (!parser.done) parser.push(chunk);
    }
    parser.end();
    result = applier.finish();
  } catch (err) {
    applier.abort();
    if (err instanceof BerthError) throw new BerthError(err.kind, `${opts.what}: ${err.message}`, err.where, { cause: err });
    throw err;
  }
  const diffId = digester.digest();
  if (opts.diffId !== undefined && diffId !== opts.diffId) {
    throw new BerthError('data-loss', `${opts.what}: uncompressed content hashes to ${diffId}, but the image config says ${opts.diffId}`, { field: 'rootfs.diff_ids' });
  }
  return { ...result, diffId, uncompressedSize: digester.size };
}
