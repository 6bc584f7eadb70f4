// The distribution-spec v2 client for one registry endpoint: manifests (negotiated by Accept),
// blobs (verified, resumed with Range after a broken connection), and push (existence check,
// cross-repository mount, monolithic or chunked upload, manifest PUT). Which endpoint serves an
// image (a mirror, a registries.conf location) is pull.ts's choice.
import { BerthError } from '../oci/errors.ts';
import { sha256Of, type Digest } from '../oci/digest.ts';
import { MAX_DOCUMENT_BYTES, documentTooLarge, readDocument } from '../oci/json-document.ts';
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, type Descriptor } from '../oci/image-spec.ts';
import { RegistryHttp, abortResponse, responseError, retryDelay, type HttpOptions } from './registry-http.ts';
import type { Endpoint } from './registry-hosts.ts';

export const MANIFEST_ACCEPT = [...INDEX_MEDIA_TYPES, ...MANIFEST_MEDIA_TYPES].join(', ');

export interface ClientOptions extends HttpOptions {
  /** Blobs up to this size are pushed with one PUT; larger ones in PATCH chunks. */
  monolithicUploadMax?: number;
  chunkSize?: number;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

const pullScope = (repo: string): string => `repository:${repo}:pull`;
const pushScope = (repo: string): string => `repository:${repo}:pull,push`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A JSON document from a response body, under the document cap (Content-Length checked first). */
async function readLimited(res: Response, limit: number, what: string, idle: IdleTimeout): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw documentTooLarge(what, limit, declared);
  }
  if (!res.body) return Buffer.alloc(0);
  // Leaving the loop early (over the cap) aborts the connection (withIdleTimeout).
  return readDocument(withIdleTimeout(res.body as unknown as AsyncIterable<Uint8Array>, res, idle), what, limit);
}

export class RegistryClient {
  private readonly http: RegistryHttp;
  readonly domain: string;

  constructor(
    endpoint: Endpoint,
    private readonly opts: ClientOptions = {},
  ) {
    this.http = new RegistryHttp(endpoint, opts);
    this.domain = endpoint.domain;
  }

  private idle(what: () => string): IdleTimeout {
    return { ms: this.opts.idleTimeoutMs ?? 60_000, domain: this.domain, what };
  }

  /** Checks that the registry answers and accepts the credentials (for `berth login`). */
  async checkLogin(): Promise<void> {
    await this.http.authenticate([]);
  }

  async getManifest(repo: string, reference: string, what: string): Promise<FetchedManifest> {
    const res = await this.http.send({
      method: 'GET',
      path: `/v2/${repo}/manifests/${reference}`,
      scopes: [pullScope(repo)],
      headers: { accept: MANIFEST_ACCEPT },
      what,
    });
    if (!res.ok) throw await responseError(res, what, this.domain);
    const bytes = await readLimited(res, MAX_DOCUMENT_BYTES, what, this.idle(() => what));
    const digest = sha256Of(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new BerthError('data-loss', `${what}: registry returned content with digest ${digest}, not the requested ${reference}`);
    }
    const header = res.headers.get('docker-content-digest');
    if (header && header.startsWith('sha256:') && header !== digest) {
      throw new BerthError('data-loss', `${what}: content hashes to ${digest} but the registry says ${header}`);
    }
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    return { bytes, mediaType, digest };
  }

  /** The manifest's descriptor if the registry has it (HEAD), else undefined. */
  async headManifest(repo: string, reference: string, what: string): Promise<Descriptor | undefined> {
    const res = await this.http.send({
      method: 'HEAD',
      path: `/v2/${repo}/manifests/${reference}`,
      scopes: [pullScope(repo)],
      headers: { accept: MANIFEST_ACCEPT },
      what,
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw await responseError(res, what, this.domain);
    const digest = res.headers.get('docker-content-digest') as Digest | null;
    if (!digest) return undefined;
    return { mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!, digest, size: Number(res.headers.get('content-length') ?? 0) };
  }

  /**
   * Streams a blob from `offset`. A connection that breaks is resumed with a Range request (or,
   * when the server ignores Range, by skipping what was already received). Bytes are not verified
   * here: the caller hashes the whole stream.
   */
  async *getBlob(repo: string, desc: Descriptor, offset = 0): AsyncGenerator<Buffer> {
    const what = `blob ${desc.digest}`;
    const retries = this.opts.retries ?? 3;
    let position = offset;
    let failures = 0;
    const http = this.http;
    for (;;) {
      const res = await http.send({
        method: 'GET',
        path: `/v2/${repo}/blobs/${desc.digest}`,
        scopes: [pullScope(repo)],
        headers: position > 0 ? { range: `bytes=${position}-` } : {},
        what,
      });
      if (res.status === 416 && position >= desc.size) {
        await res.body?.cancel().catch(() => undefined);
        return;
      }
      if (!res.ok) throw await responseError(res, what, this.domain);
      let skip = position > 0 && res.status !== 206 ? position : 0;
      try {
        for await (const raw of withIdleTimeout(res.body as unknown as AsyncIterable<Uint8Array>, res, this.idle(() => `${what} at byte ${position}`))) {
          let chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
          if (skip > 0) {
            const drop = Math.min(skip, chunk.length);
            skip -= drop;
            chunk = chunk.subarray(drop);
            if (chunk.length === 0) continue;
          }
          // A blob is exactly its descriptor's size: a registry that sends more is cut off here.
          if (position + chunk.length > desc.size) {
            throw new BerthError('data-loss', `${what}: the registry sent more than the ${desc.size} bytes the manifest gives it`, { field: desc.digest });
          }
          position += chunk.length;
          failures = 0;
          yield chunk;
        }
        return; // A clean end: whether it was complete is for the caller's size and digest check.
      } catch (err) {
        if (err instanceof BerthError && err.kind !== 'unavailable') throw err;
        if (++failures > retries) throw http.networkError(err, { what: `${what} at byte ${position}` });
        await sleep(retryDelay(failures - 1, this.opts.retryDelayMs ?? 250));
      }
    }
  }

  async hasBlob(repo: string, digest: Digest): Promise<boolean> {
    const what = `blob ${digest}`;
    const res = await this.http.send({ method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, scopes: [pushScope(repo)], what });
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 404) return false;
    if (res.ok) return true;
    throw await responseError(res, what, this.domain);
  }

  /** Asks the registry to mount a blob from another repository; true when it did. */
  async mountBlob(repo: string, digest: Digest, from: string): Promise<boolean> {
    const what = `mount of blob ${digest} from ${from}`;
    let res: Response;
    try {
      res = await this.http.send({
        method: 'POST',
        path: `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
        scopes: [pushScope(repo), pullScope(from)],
        what,
      });
    } catch (err) {
      // Not allowed to read the source repository: the caller uploads the blob instead.
      if (err instanceof BerthError && err.kind === 'permission-denied') return false;
      throw err;
    }
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 201) return true;
    if (res.status === 202) {
      // The registry opened an upload instead: cancel it, the caller uploads normally.
      const location = res.headers.get('location');
      if (location) {
        const del = await this.http.send({ method: 'DELETE', path: location, scopes: [pushScope(repo)], what }).catch(() => undefined);
        await del?.body?.cancel().catch(() => undefined);
      }
      return false;
    }
    if (res.status === 401 || res.status === 403 || res.status === 404) return false;
    throw await responseError(res, what, this.domain);
  }

  /**
   * Uploads a blob; `open` returns its bytes. Small blobs go in one PUT, larger ones in chunks. An
   * upload that fails on the way (network, 5xx, 429) starts again with a new upload session, as
   * docker does: a blob is content-addressed, so repeating it is safe. Before each new attempt the
   * registry is asked whether the blob arrived after all (an answer lost after the final PUT).
   */
  async uploadBlob(
    repo: string,
    desc: Descriptor,
    open: () => Promise<AsyncIterable<Uint8Array>>,
    onBytes?: (n: number) => void,
  ): Promise<void> {
    await this.retryingPush(
      () => this.uploadBlobOnce(repo, desc, open, onBytes),
      () => this.hasBlob(repo, desc.digest),
    );
  }

  /** Runs a push step again after a transient failure, up to the retry limit. */
  private async retryingPush<T>(step: () => Promise<T>, landed?: () => Promise<boolean>): Promise<T | undefined> {
    const retries = this.opts.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (!(err instanceof BerthError && err.kind === 'unavailable') || attempt >= retries) throw err;
        await sleep(retryDelay(attempt, this.opts.retryDelayMs ?? 250));
        if (landed && (await landed().catch(() => false))) return undefined;
      }
    }
  }

  private async uploadBlobOnce(
    repo: string,
    desc: Descriptor,
    open: () => Promise<AsyncIterable<Uint8Array>>,
    onBytes?: (n: number) => void,
  ): Promise<void> {
    const what = `upload of blob ${desc.digest}`;
    const scopes = [pushScope(repo)];
    const start = await this.http.send({ method: 'POST', path: `/v2/${repo}/blobs/uploads/`, scopes, what });
    await start.body?.cancel().catch(() => undefined);
    if (start.status !== 202) throw await responseError(start, what, this.domain);
    let location = start.headers.get('location');
    if (!location) throw new BerthError('unavailable', `${what}: registry gave no upload location`);
    const withDigest = (loc: string): string => {
      const u = new URL(loc, this.http.endpoint.url + '/');
      u.searchParams.set('digest', desc.digest);
      return u.toString();
    };
    const monolithicMax = this.opts.monolithicUploadMax ?? 64 * 1024 * 1024;
    if (desc.size <= monolithicMax) {
      const body = await open();
      let sent = 0;
      const counted = (async function* () {
        for await (const c of body) {
          sent += c.length;
          onBytes?.(sent);
          yield c;
        }
      })();
      const res = await this.http.send({
        method: 'PUT',
        path: withDigest(location),
        scopes,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
        body: counted,
        what,
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status !== 201) throw await responseError(res, what, this.domain);
      return;
    }
    const chunkSize = this.opts.chunkSize ?? 16 * 1024 * 1024;
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const chunk = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      const res = await this.http.send({
        method: 'PATCH',
        path: location!,
        scopes,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${offset}-${offset + chunk.length - 1}`,
          'content-length': String(chunk.length),
        },
        body: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length),
        what,
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status !== 202) throw await responseError(res, what, this.domain);
      offset += chunk.length;
      onBytes?.(offset);
      location = res.headers.get('location') ?? location;
    };
    for await (const c of await open()) {
      let data = Buffer.from(c);
      while (data.length > 0) {
        const take = Math.min(chunkSize - pendingBytes, data.length);
        pending.push(data.subarray(0, take));
        pendingBytes += take;
        data = data.subarray(take);
        if (pendingBytes === chunkSize) await flush();
      }
    }
    await flush();
    const res = await this.http.send({ method: 'PUT', path: withDigest(location), scopes, headers: { 'content-length': '0' }, what });
    await res.body?.cancel().catch(() => undefined);
    if (res.status !== 201) throw await responseError(res, what, this.domain);
  }

  /** Puts a manifest under a tag or digest; repeated after a transient failure (a PUT of the same bytes is idempotent). */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    return (await this.retryingPush(() => this.putManifestOnce(repo, reference, bytes, mediaType)))!;
  }

  private async putManifestOnce(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const what = `manifest ${repo}:${reference}`;
    const res = await this.http.send({
      method: 'PUT',
      path: `/v2/${repo}/manifests/${reference}`,
      scopes: [pushScope(repo)],
      headers: { 'content-type': mediaType },
      body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
      what,
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.status !== 201) throw await responseError(res, what, this.domain);
    const digest = sha256Of(bytes);
    const header = res.headers.get('docker-content-digest');
    if (header && header !== digest) throw new BerthError('data-loss', `${what}: registry stored digest ${header}, expected ${digest}`);
    return digest;
  }
}

interface IdleTimeout {
  ms: number;
  domain: string;
  /** What was being read, asked when the timeout fires (a blob's position moves). */
  what: () => string;
}

/**
 * Fails when no chunk arrives for `ms` (a stalled connection becomes a retry). However the reading
 * stops before the end (a timeout, an error, a consumer that has enough), the connection is
 * aborted: a locked body cannot be cancelled, and a stalled one would otherwise stay open.
 */
async function* withIdleTimeout(body: AsyncIterable<Uint8Array>, res: Response, idle: IdleTimeout): AsyncGenerator<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  let complete = false;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new BerthError('unavailable', `registry ${idle.domain} sent no data for ${idle.ms} ms (${idle.what()})`, { op: 'read' })),
          idle.ms,
        );
      });
      let r: IteratorResult<Uint8Array>;
      try {
        r = await Promise.race([it.next(), timeout]);
      } finally {
        clearTimeout(timer);
      }
      if (r.done) {
        complete = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!complete) abortResponse(res, new BerthError('unavailable', `stopped reading from registry ${idle.domain} (${idle.what()})`));
  }
}
