// berthd's streaming server: the CRI's Exec, Attach and PortForward return a URL here
// (`http://<address>:<port>/{exec,attach,portforward}/<token>`); the client then connects with
// GET or POST and upgrades to SPDY/3.1 or a WebSocket. Unknown, reused and expired tokens get 404.
// Each connection serves one request; idle connections close after `idleTimeoutMs` (4 h).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AttachRequest, ExecRequest, PortForwardRequest, StreamingBackend } from './backend.ts';
import { responseReply, socketReply, switchToSpdy, type Reply } from './http-reply.ts';
import {
  PORTFORWARD_SPDY_PROTOCOLS, PORTFORWARD_WEBSOCKET_PROTOCOLS, REMOTECOMMAND_SPDY_PROTOCOLS, REMOTECOMMAND_WEBSOCKET_PROTOCOLS,
  WEBSOCKET_DEFAULT, headerList, negotiate, remoteCommandVersion, type WebSocketProtocol,
} from './protocol-versions.ts';
import { RequestCache, type CachedRequest } from './request-cache.ts';
import { SpdyConnection } from './spdy-connection.ts';
import { spdyRemoteCommandChannels } from './remotecommand-spdy.ts';
import { serveRemoteCommand } from './remotecommand.ts';
import { servePortForwardSpdy, parsePort } from './portforward-spdy.ts';
import { WebSocketChannels } from './websocket-channels.ts';
import { websocketRemoteCommandChannels } from './remotecommand-websocket.ts';
import { servePortForwardWebSocket } from './portforward-websocket.ts';

export interface StreamingServerOptions {
  backend: StreamingBackend;
  /** Where to listen; 127.0.0.1 unless told. */
  address?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The URL clients are given, when it is not http://<address>:<port> (a proxy in front). */
  baseUrl?: string;
  /** A connection with no traffic for this long closes (the kubelet's default: 4 h). */
  idleTimeoutMs?: number;
  /** How long a SPDY client may take to open its streams (30 s). */
  streamCreationTimeoutMs?: number;
  /** How long a URL stays valid (1 min) and how many may wait at once (1000). */
  requestTtlMs?: number;
  maxInFlight?: number;
}

const ROUTE = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/;

export class StreamingServer {
  private readonly server: Server;
  private readonly cache: RequestCache;
  /** The subprotocol chosen for each WebSocket request, for ws to answer with. */
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  private readonly wss = new WebSocketServer({
    noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: 16 * 1024 * 1024,
    handleProtocols: (_offered, req) => this.chosen.get(req) || false,
  });
  private readonly sockets = new Set<Duplex>();
  private readonly idleTimeoutMs: number;
  private readonly streamCreationTimeoutMs: number;
  private base = '';

  constructor(private readonly opts: StreamingServerOptions) {
    this.cache = new RequestCache({ ttlMs: opts.requestTtlMs, maxInFlight: opts.maxInFlight });
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 4 * 3600_000;
    this.streamCreationTimeoutMs = opts.streamCreationTimeoutMs ?? 30_000;
    this.server = createServer();
    this.server.on('connection', (s: Socket) => this.track(s));
    this.server.on('request', (req, res) => this.route(req, responseReply(res), undefined));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.route(req, socketReply(socket), { socket, head }));
  }

  async start(): Promise<void> {
    const address = this.opts.address ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 0, address, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.base = (this.opts.baseUrl ?? `http://${address.includes(':') ? `[${address}]` : address}:${port}`).replace(/\/+$/, '');
  }

  /** Stops listening and ends every connection; running commands see their signal abort. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  getExec(req: ExecRequest): { url: string } {
    return this.url({ kind: 'exec', req });
  }

  getAttach(req: AttachRequest): { url: string } {
    return this.url({ kind: 'attach', req });
  }

  getPortForward(req: PortForwardRequest): { url: string } {
    return this.url({ kind: 'portforward', req });
  }

  private url(item: CachedRequest): { url: string } {
    const token = this.cache.insert(item);
    return { url: `${this.base}/${item.kind}/${token}` };
  }

  private track(s: Duplex): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private route(req: IncomingMessage, reply: Reply, upgrade: { socket: Duplex; head: Buffer } | undefined): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const m = ROUTE.exec(path);
    if (!m) return reply.error(404, '404 page not found');
    if (req.method !== 'GET' && req.method !== 'POST') return reply.error(405, `${req.method} is not allowed: use GET or POST`, [['Allow', 'GET, POST']]);
    const item = this.cache.consume(m[2]!);
    if (!item || item.kind !== m[1]) return reply.error(404, '404 page not found');
    if (upgrade && isWebSocket(req)) return this.acceptWebSocket(item, req, reply, upgrade.socket, upgrade.head);
    this.acceptSpdy(item, req, reply, upgrade);
  }

  private acceptSpdy(item: CachedRequest, req: IncomingMessage, reply: Reply, upgrade: { socket: Duplex; head: Buffer } | undefined): void {
    const supported = item.kind === 'portforward' ? PORTFORWARD_SPDY_PROTOCOLS : REMOTECOMMAND_SPDY_PROTOCOLS;
    const offered = headerList(req.headers['x-stream-protocol-version']);
    if (offered.length === 0) return reply.error(400, 'unable to upgrade: X-Stream-Protocol-Version is required');
    const protocol = negotiate(offered, supported);
    if (!protocol) {
      return reply.error(403, `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${supported.join(' ')}]`,
        supported.map((p) => ['X-Accepted-Stream-Protocol-Versions', p]));
    }
    const connection = (req.headers.connection ?? '').toLowerCase();
    const wanted = (req.headers.upgrade ?? '').toLowerCase();
    if (!upgrade || !connection.includes('upgrade') || !wanted.includes('spdy/3.1')) {
      return reply.error(400, 'unable to upgrade: missing upgrade headers in request: Connection: Upgrade and Upgrade: SPDY/3.1 are required');
    }
    switchToSpdy(upgrade.socket, protocol);
    const conn = new SpdyConnection(upgrade.socket, upgrade.head, { idleTimeoutMs: this.idleTimeoutMs });
    if (item.kind === 'portforward') {
      servePortForwardSpdy(conn, item.req.podSandboxId, this.opts.backend, this.streamCreationTimeoutMs);
      return;
    }
    const version = remoteCommandVersion(protocol);
    spdyRemoteCommandChannels(conn, item.req, version, this.streamCreationTimeoutMs).then(
      (channels) => serveRemoteCommand(item, channels, this.opts.backend, version),
      () => undefined, // the connection is already gone: timed out or closed by the client
    );
  }

  private acceptWebSocket(item: CachedRequest, req: IncomingMessage, reply: Reply, socket: Duplex, head: Buffer): void {
    const supported = item.kind === 'portforward' ? PORTFORWARD_WEBSOCKET_PROTOCOLS : REMOTECOMMAND_WEBSOCKET_PROTOCOLS;
    const offered = headerList(req.headers['sec-websocket-protocol']);
    let protocol: WebSocketProtocol = WEBSOCKET_DEFAULT;
    if (offered.length) {
      const name = negotiate(offered, supported.map((p) => p.name));
      if (!name) {
        return reply.error(403, `unable to upgrade: requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${supported.map((p) => p.name).join(' ')}]`);
      }
      protocol = supported.find((p) => p.name === name)!;
    }
    let ports: number[] = [];
    if (item.kind === 'portforward') {
      ports = item.req.port.length ? item.req.port : portsFromQuery(req.url ?? '');
      if (!ports.length) return reply.error(400, 'query parameter "port" is required');
    }
    this.chosen.set(req, protocol.name);
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (this.idleTimeoutMs > 0 && 'setTimeout' in socket) {
        (socket as Socket).setTimeout(this.idleTimeoutMs);
        socket.on('timeout', () => ws.terminate());
      }
      const mux = new WebSocketChannels(ws, protocol);
      if (item.kind === 'portforward') {
        void servePortForwardWebSocket(mux, item.req.podSandboxId, ports, this.opts.backend);
        return;
      }
      const channels = websocketRemoteCommandChannels(mux, item.req);
      void serveRemoteCommand(item, channels, this.opts.backend, protocol.version);
    });
  }
}

function isWebSocket(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket' && /(^|,)\s*upgrade\s*($|,)/i.test(req.headers.connection ?? '');
}

/** `?port=80&port=8080,9090`, as the kubelet reads them for the WebSocket form. */
function portsFromQuery(url: string): number[] {
  const params = new URL(url, 'http://x').searchParams.getAll('port');
  const ports = params.flatMap((p) => p.split(',')).map((p) => parsePort(p));
  return ports.every((p) => p !== undefined) ? (ports as number[]) : [];
}
