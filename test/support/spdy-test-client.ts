// A small SPDY/3.1 client for tests of berthd's streaming server: the HTTP upgrade by hand, then
// streams opened the way client-go opens them (SYN_STREAM with headers, wait for the reply).
// Built on berth's own framer; the Go interop tests use an implementation nobody here wrote.
import { connect, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame, type OutgoingFrame } from '../../src/cri/streaming/spdy-framer.ts';
import { HeaderCompressor, HeaderDecompressor } from '../../src/cri/streaming/spdy-header-compression.ts';
import type { SpdyFrame } from '../../src/cri/streaming/spdy-frame.ts';

export interface UpgradeResult {
  status: number;
  headers: Array<[string, string]>;
  body: string;
  client?: SpdyTestClient;
}

export function header(r: UpgradeResult, name: string): string[] {
  return r.headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}

/** Sends the upgrade request; on 101 the socket becomes a SPDY client. */
export function spdyUpgrade(url: string, protocols: string[], opts: { method?: string; upgrade?: boolean } = {}): Promise<UpgradeResult> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    const lines = [`${opts.method ?? 'POST'} ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`];
    if (opts.upgrade !== false) lines.push('Connection: Upgrade', 'Upgrade: SPDY/3.1');
    for (const p of protocols) lines.push(`X-Stream-Protocol-Version: ${p}`);
    if (opts.upgrade === false) lines.push('Connection: close');
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...rest] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(statusLine!.split(' ')[1]);
      const headers = rest.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]);
      const after = buf.subarray(end + 4);
      if (status === 101) {
        socket.off('data', onData);
        resolve({ status, headers, body: '', client: new SpdyTestClient(socket, after) });
        return;
      }
      socket.off('data', onData);
      const chunks: Buffer[] = [after];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => resolve({ status, headers, body: Buffer.concat(chunks).toString() }));
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

export class ClientStream {
  readonly chunks: Buffer[] = [];
  remoteFin = false;
  reset: number | undefined;
  private waiters: Array<() => void> = [];

  constructor(private readonly client: SpdyTestClient, readonly id: number) {}

  write(data: string | Buffer): void {
    this.client.send({ type: 'data', streamId: this.id, fin: false, data: Buffer.from(data) });
  }

  end(data: string | Buffer = Buffer.alloc(0)): void {
    this.client.send({ type: 'data', streamId: this.id, fin: true, data: Buffer.from(data) });
  }

  cancel(): void {
    this.client.send({ type: 'rst_stream', streamId: this.id, status: 5 });
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }

  /** Resolves with everything received once the server finishes (FIN) or resets the stream. */
  done(): Promise<string> {
    return this.until(() => this.remoteFin || this.reset !== undefined).then(() => this.text);
  }

  until(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (cond()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  /** @internal */
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export class SpdyTestClient {
  private readonly compressor = new HeaderCompressor();
  private readonly decoder = new FrameDecoder(new HeaderDecompressor());
  private readonly streams = new Map<number, ClientStream>();
  private readonly replies = new Map<number, (f: SpdyFrame) => void>();
  private nextId = 1;
  readonly received: SpdyFrame[] = [];
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket, head: Buffer) {
    this.closed = new Promise((resolve) => socket.on('close', () => {
      for (const s of this.streams.values()) s.notify();
      resolve();
    }));
    socket.on('data', (c: Buffer) => this.receive(c));
    socket.on('error', () => undefined);
    if (head.length) this.receive(head);
  }

  send(frame: OutgoingFrame): void {
    if (!this.socket.destroyed) this.socket.write(encodeFrame(frame, this.compressor));
  }

  /** Opens a stream and waits for SYN_REPLY; rejects on RST_STREAM. */
  open(headers: Record<string, string>, opts: { fin?: boolean } = {}): Promise<ClientStream> {
    const id = this.nextId;
    this.nextId += 2;
    const stream = new ClientStream(this, id);
    this.streams.set(id, stream);
    const replied = new Promise<ClientStream>((resolve, reject) => {
      this.replies.set(id, (f) => (f.type === 'syn_reply' ? resolve(stream) : reject(new Error(`stream ${id} reset: ${(f as { status: number }).status}`))));
    });
    const h = new Map(Object.entries(headers).map(([k, v]) => [k, [v]]));
    this.send({ type: 'syn_stream', streamId: id, associatedTo: 0, priority: 0, fin: opts.fin ?? false, unidirectional: false, headers: h });
    return replied;
  }

  ping(id: number): Promise<void> {
    this.send({ type: 'ping', id });
    return this.waitFor((f) => f.type === 'ping' && f.id === id).then(() => undefined);
  }

  waitFor(pred: (f: SpdyFrame) => boolean): Promise<SpdyFrame> {
    const found = this.received.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const check = (): void => {
        const f = this.received.find(pred);
        if (f) resolve(f);
        else this.frameWaiters.push(check);
      };
      this.frameWaiters.push(check);
    });
  }

  goAway(): void {
    this.send({ type: 'goaway', lastGoodStreamId: 0, status: 0 });
  }

  private frameWaiters: Array<() => void> = [];

  private receive(chunk: Buffer): void {
    for (const f of this.decoder.push(chunk)) {
      this.received.push(f);
      if (f.type === 'syn_reply' || f.type === 'rst_stream') {
        const r = this.replies.get(f.streamId);
        this.replies.delete(f.streamId);
        r?.(f);
      }
      const s = 'streamId' in f ? this.streams.get(f.streamId) : undefined;
      if (s && f.type === 'data') {
        if (f.data.length) s.chunks.push(f.data);
        if (f.fin) s.remoteFin = true;
      }
      if (s && f.type === 'rst_stream') s.reset = f.status;
      s?.notify();
      const w = this.frameWaiters;
      this.frameWaiters = [];
      for (const fn of w) fn();
    }
  }
}

/** Upgrades and fails the test unless the server switched protocols. */
export async function connectSpdy(url: string, protocols = ['v4.channel.k8s.io']): Promise<SpdyTestClient> {
  const r = await spdyUpgrade(url, protocols);
  if (r.status !== 101) throw new Error(`upgrade answered ${r.status}: ${r.body}`);
  return r.client!;
}

/** Opens the streams client-go opens, in its order: error, stdin, stdout, stderr, resize. */
export async function openStreams(c: SpdyTestClient, types: string[]): Promise<Record<string, ClientStream>> {
  const out: Record<string, ClientStream> = {};
  for (const t of types) out[t] = await c.open({ streamtype: t });
  return out;
}
