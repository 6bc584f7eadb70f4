// One registry endpoint over HTTP: authentication (anonymous, basic, bearer tokens per scope),
// manual redirects (credentials never follow a redirect to another origin), retries with
// exponential backoff for idempotent requests, and registry error bodies turned into BerthErrors.
import { BerthError } from '../oci/errors.ts';
import { parseJsonDocument, readDocument, readPrefix } from '../oci/json-document.ts';
import { authRefused, lookupCredentials, parseChallenges, type Challenge, type CredentialSources, type Credentials } from './registry-auth.ts';
import type { Endpoint } from './registry-hosts.ts';

export interface HttpOptions extends CredentialSources {
  /** Explicit credentials (e.g. `berth login` checking a password) instead of the stored ones. */
  credentials?: Credentials;
  retries?: number;
  retryDelayMs?: number;
  /** A request or body that stays silent this long is aborted (and retried when it can be). */
  idleTimeoutMs?: number;
  userAgent?: string;
}

export interface RequestSpec {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path (`/v2/...`) on the endpoint, or an absolute URL (upload locations). */
  path: string;
  /** Token scopes, e.g. `repository:library/busybox:pull`. */
  scopes: string[];
  headers?: Record<string, string>;
  body?: Uint8Array | AsyncIterable<Uint8Array>;
  /** What the request is about, for error messages ("manifest busybox:latest"). */
  what: string;
}

interface TokenEntry {
  header: string;
  expiresAt: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function retryDelay(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** attempt, 10_000) * (0.75 + Math.random() * 0.5);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The controller of each response's request: aborting it after the headers closes the connection. */
const controllers = new WeakMap<Response, AbortController>();

/** Closes a response's connection, e.g. one whose body stalled; a pending read fails with `reason`. */
export function abortResponse(res: Response, reason: Error): void {
  controllers.get(res)?.abort(reason);
}

export class RegistryHttp {
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly tokenRequests = new Map<string, Promise<string>>();
  private basic: string | undefined;
  private credentialsLoaded = false;
  private credentials: Credentials | undefined;

  constructor(
    readonly endpoint: Endpoint,
    private readonly opts: HttpOptions = {},
  ) {}

  private creds(): Credentials | undefined {
    if (this.opts.credentials) return this.opts.credentials;
    if (!this.credentialsLoaded) {
      this.credentials = lookupCredentials(this.endpoint.domain, this.opts);
      this.credentialsLoaded = true;
    }
    return this.credentials;
  }

  private authHeader(scopes: string[]): string | undefined {
    // A registry token is sent as it is, from the first request on.
    const registryToken = this.opts.credentials?.registryToken;
    if (registryToken) return `Bearer ${registryToken}`;
    const t = this.tokens.get(scopes.join(' '));
    if (t && t.expiresAt > Date.now()) return t.header;
    return this.basic;
  }

  /** Sends a request, authenticating and retrying as needed. The caller reads or cancels the body. */
  async send(spec: RequestSpec): Promise<Response> {
    const retries = this.opts.retries ?? 3;
    const idempotent = spec.method === 'GET' || spec.method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.sendAuthenticated(spec);
        if (idempotent && (res.status >= 500 || res.status === 429) && attempt < retries) {
          await res.body?.cancel().catch(() => undefined);
          await sleep(retryDelay(attempt, this.opts.retryDelayMs ?? 250));
          continue;
        }
        return res;
      } catch (err) {
        if (err instanceof BerthError && err.kind !== 'unavailable') throw err;
        if (!idempotent || attempt >= retries) throw err instanceof BerthError ? err : this.networkError(err, spec);
        await sleep(retryDelay(attempt, this.opts.retryDelayMs ?? 250));
      }
    }
  }

  private async sendAuthenticated(spec: RequestSpec): Promise<Response> {
    const sent = this.authHeader(spec.scopes);
    let res = await this.sendFollowing(spec, sent);
    if (res.status !== 401) return res;
    const header = res.headers.get('www-authenticate') ?? '';
    await res.body?.cancel().catch(() => undefined);
    const challenges = parseChallenges(header);
    const auth = await this.answer(challenges, spec, sent);
    if (!auth) throw authRefused(this.endpoint.domain, 'authentication required and no credentials are stored (use `berth login`)');
    if (spec.body && !(spec.body instanceof Uint8Array)) {
      // A streamed body cannot be replayed: authenticate with a cheap request first next time.
      throw new BerthError('unavailable', `${spec.what}: the registry asked for authentication in the middle of a streamed upload; retry`);
    }
    res = await this.sendFollowing(spec, auth);
    if (res.status === 401) {
      const again = parseChallenges(res.headers.get('www-authenticate') ?? '').find((c) => c.scheme === 'bearer');
      await res.body?.cancel().catch(() => undefined);
      const user = this.creds()?.username;
      if (again?.params.error === 'insufficient_scope') {
        // The credentials were accepted; the token service just did not grant what this request needs.
        const scope = again.params.scope ?? spec.scopes.join(' ');
        const who = user !== undefined ? `user ${user}` : 'anonymous users (use `berth login`)';
        throw new BerthError('permission-denied', `registry ${this.endpoint.domain} denied ${spec.what}: the token service did not grant ${scope} to ${who}`);
      }
      throw authRefused(this.endpoint.domain, user !== undefined ? 'the stored credentials were rejected' : 'anonymous access is not allowed (use `berth login`)');
    }
    return res;
  }

  /** Makes sure a later request with these scopes carries credentials without a 401 round trip. */
  async authenticate(scopes: string[]): Promise<void> {
    const res = await this.send({ method: 'GET', path: '/v2/', scopes, what: 'registry API check' });
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 404) throw new BerthError('unavailable', `${this.endpoint.url} does not serve the registry API (/v2/ answered 404)`);
  }

  /** The Authorization header to retry with after a 401 to a request that carried `sent`. */
  private async answer(challenges: Challenge[], spec: RequestSpec, sent: string | undefined): Promise<string | undefined> {
    if (this.opts.credentials?.registryToken) throw authRefused(this.endpoint.domain, 'the registry token was rejected');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      // Concurrent requests that met the same challenge share one token rather than each fetching one.
      const cached = this.tokens.get(spec.scopes.join(' '));
      if (cached && cached.expiresAt > Date.now() && cached.header !== sent) return cached.header;
      return this.fetchToken(bearer, spec.scopes);
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const c = this.creds();
      if (!c) return undefined;
      this.basic = basicAuth(c);
      return this.basic;
    }
    throw authRefused(this.endpoint.domain, `unsupported authentication challenge "${challenges[0]?.scheme ?? 'none'}"`);
  }

  private fetchToken(ch: Challenge, scopes: string[]): Promise<string> {
    const key = scopes.join(' ');
    let inFlight = this.tokenRequests.get(key);
    if (!inFlight) {
      inFlight = this.requestToken(ch, scopes).finally(() => this.tokenRequests.delete(key));
      this.tokenRequests.set(key, inFlight);
    }
    return inFlight;
  }

  private async requestToken(ch: Challenge, scopes: string[]): Promise<string> {
    const realm = ch.params.realm;
    if (!realm || !/^https?:\/\//.test(realm)) throw authRefused(this.endpoint.domain, 'bearer challenge without a valid realm');
    const url = new URL(realm);
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    const wanted = scopes.length ? scopes : ch.params.scope ? ch.params.scope.split(' ') : [];
    for (const s of wanted) url.searchParams.append('scope', s);
    const c = this.creds();
    let res = c?.identityToken ? await this.oauthToken(url, c.identityToken, wanted) : undefined;
    // A token service without the OAuth2 form takes the identity token as a password (as containerd).
    if (!res || res.status === 404 || res.status === 405) {
      await res?.body?.cancel().catch(() => undefined);
      res = await this.tokenFetch(url, { headers: { 'user-agent': this.opts.userAgent ?? 'berth', ...(c ? { authorization: basicAuth(c) } : {}) } });
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => undefined);
      throw authRefused(this.endpoint.domain, c ? 'the token service rejected the stored credentials' : 'the token service requires credentials (use `berth login`)');
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new BerthError('unavailable', `token service ${url.origin} answered HTTP ${res.status}`);
    }
    const what = `token response from ${url.origin}`;
    let body: { token?: string; access_token?: string; expires_in?: number } = {};
    try {
      const value = parseJsonDocument(await readDocument(bodyOf(res), what), what);
      if (typeof value === 'object' && value !== null) body = value as typeof body;
    } catch (err) {
      if (err instanceof BerthError && err.kind === 'resource-exhausted') throw err;
      // A body that is not JSON holds no token: reported as such below.
    }
    const token = body.token ?? body.access_token;
    if (!token) throw authRefused(this.endpoint.domain, 'the token service returned no token');
    const header = `Bearer ${token}`;
    const ttl = Math.max(30, (body.expires_in ?? 60) - 10) * 1000;
    this.tokens.set(scopes.join(' '), { header, expiresAt: Date.now() + ttl });
    return header;
  }

  private async tokenFetch(url: URL, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(this.opts.idleTimeoutMs ?? 60_000) });
    } catch (err) {
      throw this.networkError(err, { what: `token from ${url.origin}` } as RequestSpec, url.origin);
    }
  }

  /** The OAuth2 refresh-token grant of the token specification ("identity tokens"): a POST form. */
  private oauthToken(realm: URL, refreshToken: string, scopes: string[]): Promise<Response> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: this.opts.userAgent ?? 'berth' });
    const service = realm.searchParams.get('service');
    if (service) form.set('service', service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    const url = new URL(realm.origin + realm.pathname);
    return this.tokenFetch(url, {
      method: 'POST',
      headers: { 'user-agent': this.opts.userAgent ?? 'berth', 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
  }

  private async sendFollowing(spec: RequestSpec, auth: string | undefined): Promise<Response> {
    let url = new URL(spec.path, this.endpoint.url + '/');
    const origin = new URL(this.endpoint.url).origin;
    for (let hop = 0; hop < 10; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.opts.userAgent ?? 'berth', ...(spec.headers ?? {}) };
      if (auth && url.origin === origin) headers.authorization = auth;
      const init: RequestInit & { duplex?: 'half' } = { method: spec.method, headers, redirect: 'manual' };
      if (spec.body !== undefined) {
        init.body = spec.body as unknown as BodyInit;
        if (!(spec.body instanceof Uint8Array)) init.duplex = 'half';
      }
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('timed out waiting for the registry')), this.opts.idleTimeoutMs ?? 60_000);
      init.signal = controller.signal;
      let res: Response;
      try {
        res = await fetch(url, init);
      } catch (err) {
        throw this.networkError(err, spec, url.origin);
      } finally {
        clearTimeout(timer);
      }
      controllers.set(res, controller);
      if (!REDIRECTS.has(res.status)) return res;
      const location = res.headers.get('location');
      await res.body?.cancel().catch(() => undefined);
      if (!location) throw new BerthError('unavailable', `${spec.what}: redirect without a location from ${url.origin}`);
      url = new URL(location, url);
      if (res.status === 303) spec = { ...spec, method: 'GET', body: undefined };
    }
    throw new BerthError('unavailable', `${spec.what}: too many redirects`);
  }

  networkError(err: unknown, spec: Pick<RequestSpec, 'what'>, origin = this.endpoint.url): BerthError {
    if (err instanceof BerthError) return err;
    const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
    // undici's message ("other side closed") says more than its code (UND_ERR_SOCKET), which describe() adds.
    const detail = cause?.message ?? cause?.code ?? (err as Error)?.message ?? String(err);
    return new BerthError('unavailable', `cannot reach registry ${this.endpoint.domain} at ${origin} (${spec.what}): ${detail}`, { op: 'connect', errno: cause?.code }, { cause: err });
  }
}

const ERROR_BODY_BYTES = 64 * 1024;

/** A response body as chunks (none for a body-less response). */
export async function* bodyOf(res: Response): AsyncGenerator<Uint8Array> {
  if (res.body) yield* res.body as unknown as AsyncIterable<Uint8Array>;
}

/** Basic credentials; an identity token stands in for a missing password. */
function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password || c.identityToken || ''}`).toString('base64')}`;
}

/** Turns a registry error response into a BerthError; reads the start of the body and drops the rest. */
export async function responseError(res: Response, what: string, domain: string): Promise<BerthError> {
  let detail = '';
  try {
    // Only the start of an error body is read: its details are a few hundred bytes of JSON.
    const text = (await readPrefix(bodyOf(res), ERROR_BODY_BYTES)).toString('utf8');
    const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    detail = (body.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    // Not a JSON error body.
  }
  const suffix = detail ? ` (${detail})` : '';
  switch (res.status) {
    case 404:
      return new BerthError('not-found', `${what} not found in registry ${domain}${suffix}`);
    case 401:
    case 403:
      return new BerthError('permission-denied', `registry ${domain} denied access to ${what}${suffix}`);
    case 400:
    case 405:
    case 415:
      return new BerthError('invalid-argument', `registry ${domain} rejected ${what}: HTTP ${res.status}${suffix}`);
    case 416:
      return new BerthError('data-loss', `registry ${domain} could not serve the requested range of ${what}${suffix}`);
    default:
      return new BerthError('unavailable', `registry ${domain} failed on ${what}: HTTP ${res.status}${suffix}`);
  }
}
