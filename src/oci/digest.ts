// Content digests (OCI image-spec "descriptor.md#digests"): `algorithm:encoded`. berth stores and
// verifies sha256 only; sha512 is parsed so that an error can say plainly that it is unsupported.
import { createHash, type Hash } from 'node:crypto';
import { BerthError, invalid, unimplemented } from './errors.ts';
import { quote } from './quote.ts';

export type Digest = `sha256:${string}`;

const ALGORITHM_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const ENCODED_RE = /^[a-zA-Z0-9=_-]+$/;
const SHA256_HEX_RE = /^[a-f0-9]{64}$/;

/** Parses and validates a digest string; only sha256 is accepted for use. */
export function parseDigest(value: string, field = 'digest'): Digest {
  const colon = value.indexOf(':');
  if (colon <= 0) throw invalid(`invalid digest ${quote(value)}: expected algorithm:hex`, { field });
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  if (!ALGORITHM_RE.test(algorithm) || !ENCODED_RE.test(encoded)) {
    throw invalid(`invalid digest ${quote(value)}`, { field });
  }
  if (algorithm !== 'sha256') {
    throw unimplemented(`unsupported digest algorithm ${quote(algorithm)} in ${quote(value)}`, { field });
  }
  if (!SHA256_HEX_RE.test(encoded)) throw invalid(`invalid sha256 digest ${quote(value)}: expected 64 lowercase hex digits`, { field });
  return value as Digest;
}

export function isDigest(value: string): value is Digest {
  return value.startsWith('sha256:') && SHA256_HEX_RE.test(value.slice(7));
}

/** The hex part of a sha256 digest, safe to use as a file name (validated). */
export function digestHex(digest: Digest): string {
  return parseDigest(digest).slice(7);
}

export function sha256Of(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Incremental digester: feed chunks, then read `digest()` and `size`. */
export class Digester {
  private readonly hash: Hash = createHash('sha256');
  size = 0;
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }
  digest(): Digest {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }
}

/** Throws a data-loss error unless `actual` matches `expected` (digest and, when given, size). */
export function verifyDigest(
  what: string,
  expected: { digest: Digest; size?: number },
  actual: { digest: Digest; size: number },
): void {
  if (expected.size !== undefined && expected.size !== actual.size) {
    throw new BerthError('data-loss', `${what}: size mismatch: expected ${expected.size} bytes, got ${actual.size}`, {
      field: expected.digest,
    });
  }
  if (expected.digest !== actual.digest) {
    throw new BerthError('data-loss', `${what}: digest mismatch: expected ${expected.digest}, got ${actual.digest}`, {
      field: expected.digest,
    });
  }
}
