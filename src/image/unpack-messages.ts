// The messages between berth and its unpack worker threads (unpack-pool.ts, unpack-worker.ts).
// A job is one layer: berth posts its compressed bytes chunk by chunk; the worker decompresses,
// checks the diff_id and writes the snapshot, acknowledging what it consumed (flow control).
import { BerthError, type ErrorKind, type ErrorWhere } from '../oci/errors.ts';
import type { UnpackOptions, UnpackResult } from './unpack-layer.ts';

/** What a worker needs to unpack a layer: UnpackOptions without its callback. */
export type UnpackJobSpec = Omit<UnpackOptions, 'onBytes'>;

export type ToWorker =
  | { t: 'start'; id: number; spec: UnpackJobSpec }
  | { t: 'chunk'; id: number; data: Uint8Array }
  | { t: 'end'; id: number }
  /** The source failed or the caller gave up: stop writing, then report (as an error). */
  | { t: 'abort'; id: number };

export type FromWorker =
  /** `consumed` compressed bytes were taken by the decompressor; `written` uncompressed bytes so far. */
  | { t: 'ack'; id: number; consumed: number; written: number }
  | { t: 'done'; id: number; result: UnpackResult }
  | { t: 'error'; id: number; error: SerializedError };

export interface SerializedError {
  kind: ErrorKind;
  message: string;
  where: ErrorWhere;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof BerthError) return { kind: err.kind, message: err.message, where: err.where };
  return { kind: 'internal', message: err instanceof Error ? err.message : String(err), where: {} };
}

export function deserializeError(e: SerializedError): BerthError {
  return new BerthError(e.kind, e.message, e.where);
}
