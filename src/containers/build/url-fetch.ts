// ADD of an http(s) URL: the file is downloaded with Node's fetch into a private directory, its
// sha256 computed as it streams (the cache key of an ADD without --checksum), checked against
// `--checksum` when given, and its mtime set from Last-Modified as docker does.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync, utimesSync } from 'node:fs';
import { join, posix } from 'node:path';
import { finished } from 'node:stream/promises';
import { BerthError } from '../../oci/errors.ts';
import type { Digest } from '../../oci/digest.ts';

export interface FetchedUrl {
  /** The directory holding the one downloaded file. */
  dir: string;
  /** The file's name: the URL path's last segment. */
  name: string;
  digest: Digest;
}

/** The file name ADD gives a URL: its path's last segment, else BuildKit's `__unnamed__`. */
export function urlFileName(url: string): string {
  const base = posix.basename(decodeURIComponent(new URL(url).pathname));
  return base === '' || base === '/' || base === '.' || base === '..' ? '__unnamed__' : base;
}

export async function fetchUrl(url: string, scratch: string, checksum?: string): Promise<FetchedUrl> {
  const dir = join(scratch, `url-${randomUUID()}`);
  mkdirSync(dir, { mode: 0o700 });
  const name = urlFileName(url);
  const path = join(dir, name);
  try {
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow' });
    } catch (err) {
      throw new BerthError('unavailable', `ADD ${url}: ${(err as Error).message}${(err as { cause?: Error }).cause ? `: ${(err as { cause: Error }).cause.message}` : ''}`, { path: url }, { cause: err });
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new BerthError(res.status === 404 ? 'not-found' : 'unavailable', `ADD ${url}: HTTP ${res.status} ${res.statusText}`, { path: url });
    }
    const algorithm = checksum?.split(':', 1)[0] ?? 'sha256';
    const sha256 = createHash('sha256');
    const wanted = algorithm === 'sha256' ? undefined : createHash(algorithm);
    const out = createWriteStream(path, { mode: 0o600 });
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      sha256.update(chunk);
      wanted?.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    out.end();
    await finished(out);
    const digest: Digest = `sha256:${sha256.digest('hex')}`;
    if (checksum !== undefined) {
      const got = `${algorithm}:${wanted ? wanted.digest('hex') : digest.slice(7)}`;
      if (got !== checksum) throw new BerthError('data-loss', `ADD ${url}: checksum mismatch: expected ${checksum}, got ${got}`, { path: url });
    }
    const modified = res.headers.get('last-modified');
    const when = modified ? new Date(modified) : undefined;
    if (when && !Number.isNaN(when.getTime())) utimesSync(path, when, when);
    return { dir, name, digest };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
