// Validated Exec/Attach/PortForward requests waiting for their client to connect: each under a
// random token that works once and expires after a minute (the kubelet's streaming server keeps
// them the same way), with a bound on how many wait at once.
import { randomBytes } from 'node:crypto';
import { BerthError, invalid } from '../../oci/errors.ts';
import type { AttachRequest, ExecRequest, PortForwardRequest } from './backend.ts';

export type CachedRequest =
  | { kind: 'exec'; req: ExecRequest }
  | { kind: 'attach'; req: AttachRequest }
  | { kind: 'portforward'; req: PortForwardRequest };

export interface RequestCacheOptions {
  ttlMs?: number;
  maxInFlight?: number;
  now?: () => number;
}

export class RequestCache {
  private readonly entries = new Map<string, { item: CachedRequest; expires: number }>();
  private readonly ttlMs: number;
  private readonly maxInFlight: number;
  private readonly now: () => number;

  constructor(opts: RequestCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxInFlight = opts.maxInFlight ?? 1000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Validates and stores; returns the token. */
  insert(item: CachedRequest): string {
    validate(item);
    this.expire();
    if (this.entries.size >= this.maxInFlight) {
      throw new BerthError('resource-exhausted', `${this.maxInFlight} streaming requests are already waiting for their clients; retry in ${Math.ceil(this.ttlMs / 1000)} s`);
    }
    const token = randomBytes(16).toString('base64url');
    this.entries.set(token, { item, expires: this.now() + this.ttlMs });
    return token;
  }

  /** The request once: a second call, an unknown or an expired token gives undefined. */
  consume(token: string): CachedRequest | undefined {
    const e = this.entries.get(token);
    if (!e) return undefined;
    this.entries.delete(token);
    return e.expires > this.now() ? e.item : undefined;
  }

  get size(): number {
    this.expire();
    return this.entries.size;
  }

  private expire(): void {
    const now = this.now();
    // Insertion order is expiry order (one TTL for all).
    for (const [token, e] of this.entries) {
      if (e.expires > now) break;
      this.entries.delete(token);
    }
  }
}

function validate(item: CachedRequest): void {
  if (item.kind === 'portforward') {
    if (!item.req.podSandboxId) throw invalid('port forward: pod_sandbox_id is required', { field: 'pod_sandbox_id' });
    for (const p of item.req.port) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalid(`port forward: port ${p} is not between 1 and 65535`, { field: 'port' });
    }
    return;
  }
  const { req } = item;
  if (!req.containerId) throw invalid(`${item.kind}: container_id is required`, { field: 'container_id' });
  if (item.kind === 'exec' && item.req.cmd.length === 0) throw invalid('exec: cmd is required', { field: 'cmd' });
  if (req.tty && req.stderr) throw invalid(`${item.kind}: tty and stderr cannot both be set (a terminal has one output)`, { field: 'stderr' });
  if (!req.stdin && !req.stdout && !req.stderr) throw invalid(`${item.kind}: one of stdin, stdout or stderr must be set`, { field: 'stdin' });
}
