// JSON documents that come from outside berth (image layouts, archives, registry responses, config
// files) are read under one size cap, checked before the bytes are decoded and, where the size is
// known up front (a file, a Content-Length, a tar header), before they are read at all: a 1.5 GB
// index.json must fail at once, not after filling memory.
import { BerthError, invalid } from './errors.ts';

/** The cap on every JSON document (containerd and the distribution registry use 4 MiB for manifests). */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

function formatCap(limit: number): string {
  return limit % (1024 * 1024) === 0 ? `${limit / (1024 * 1024)} MiB` : `${limit} bytes`;
}

/** The error for a document above the cap; `size` when known. */
export function documentTooLarge(what: string, limit = MAX_DOCUMENT_BYTES, size?: number): BerthError {
  const actual = size === undefined ? 'is larger than' : `is ${size} bytes, more than`;
  return new BerthError('resource-exhausted', `${what} ${actual} the ${formatCap(limit)} allowed for a JSON document`, { field: what });
}

/** Throws when a document's known size is above the cap. */
export function checkDocumentSize(what: string, size: number, limit = MAX_DOCUMENT_BYTES): void {
  if (size > limit) throw documentTooLarge(what, limit, size);
}

/**
 * Collects a document's chunks, failing as soon as they pass the cap (the source is then closed,
 * as leaving a for-await loop does, so a network body stops there).
 */
export async function readDocument(chunks: AsyncIterable<Uint8Array>, what: string, limit = MAX_DOCUMENT_BYTES): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > limit) throw documentTooLarge(what, limit);
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts, total);
}

/** The first `limit` bytes of a body whose rest does not matter (an error response's details). */
export async function readPrefix(chunks: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    parts.push(Buffer.from(chunk.subarray(0, limit - total)));
    total += Math.min(chunk.length, limit - total);
    if (total >= limit) break;
  }
  return Buffer.concat(parts, total);
}

/** Parses a capped document; any JSON value. Errors name `what`. */
export function parseJsonDocument(bytes: Uint8Array | string, what: string, limit = MAX_DOCUMENT_BYTES): unknown {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  checkDocumentSize(what, size, limit);
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`${what}: not valid JSON: ${(err as Error).message}`, { field: what });
  }
}
