// The SPDY/3.1 client side of the CRI streaming benchmarks, lean where the test client keeps
// everything: the HTTP upgrade, streams opened as client-go opens them, and per stream either the
// bytes kept (small outputs: exec status, stdout) or only counted (a port-forward's GiB). Built on
// berth's framer (src/cri/streaming); the peers' servers are containerd's (Go) and berthd's.
import { connect, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder } from '../../src/cri/streaming/spdy-framer.ts';
import { HeaderCompressor, HeaderDecompressor } from '../../src/cri/streaming/spdy-header-compression.ts';

export interface BenchStream {
  id: number;
  bytes: number;
  /** Kept data (streams opened with keep). */
  chunks: Buffer[];
  fin: boolean;
  reset?: number;
  text(): string;
}

export class SpdyBenchClient {
  private readonly compressor = new HeaderCompressor();
  private readonly decoder = new FrameDecoder(new HeaderDecompressor());
  private readonly streams = new Map<number, BenchStream & { keep: boolean; replied?: () => void; failed?: (e: Error) => void }>();
  private waiters: Array<() => void> = [];
  private nextId = 1;
  closed = false;

  private constructor(private readonly socket: Socket, head: Buffer) {
    socket.on('data', (c: Buffer) => this.receive(c));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
    if (head.length) this.receive(head);
  }

  /** POSTs the upgrade to `url` asking for `protocols`; rejects unless the server answers 101. */
  static connect(url: string, protocols: string[]): Promise<SpdyBenchClient> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(u.port), u.hostname);
      socket.setNoDelay(true);
      const head = [`POST ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Connection: Upgrade', 'Upgrade: SPDY/3.1', ...protocols.map((p) => `X-Stream-Protocol-Version: ${p}`)];
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      let buf = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const status = buf.subarray(0, end).toString('latin1').split('\r\n')[0]!;
        if (!/^HTTP\/1\.1 101 /.test(status)) {
          socket.destroy();
          reject(new Error(`${url}: ${status}`));
          return;
        }
        resolve(new SpdyBenchClient(socket, buf.subarray(end + 4)));
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
  }

  /** Opens a stream (SYN_STREAM) and resolves at its SYN_REPLY. */
  open(headers: Record<string, string>, keep = true): Promise<BenchStream> {
    const id = this.nextId;
    this.nextId += 2;
    const chunks: Buffer[] = [];
    const stream = { id, bytes: 0, chunks, fin: false, keep, text: () => Buffer.concat(chunks).toString() };
    this.streams.set(id, stream);
    const replied = new Promise<BenchStream>((resolve, reject) => {
      Object.assign(stream, { replied: () => resolve(stream), failed: reject });
    });
    this.send({ type: 'syn_stream', streamId: id, associatedTo: 0, priority: 0, fin: false, unidirectional: false, headers: new Map(Object.entries(headers).map(([k, v]) => [k, [v]])) });
    return replied;
  }

  /** Half-closes our side of a stream (DATA with FIN). */
  end(stream: BenchStream): void {
    this.send({ type: 'data', streamId: stream.id, fin: true, data: Buffer.alloc(0) });
  }

  /** Resolves once `cond` holds (checked after every frame) or the connection closed. */
  until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (cond() || this.closed ? resolve() : this.waiters.push(check));
      check();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private send(frame: Parameters<typeof encodeFrame>[0]): void {
    if (!this.socket.destroyed) this.socket.write(encodeFrame(frame, this.compressor));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private receive(chunk: Buffer): void {
    for (const f of this.decoder.push(chunk)) {
      if (f.type === 'ping') this.send({ type: 'ping', id: f.id });
      const s = 'streamId' in f ? this.streams.get(f.streamId) : undefined;
      if (!s) continue;
      if (f.type === 'syn_reply') s.replied?.();
      if (f.type === 'rst_stream') {
        s.reset = f.status;
        s.failed?.(new Error(`stream ${s.id} reset (${f.status})`));
      }
      if (f.type === 'data') {
        s.bytes += f.data.length;
        if (s.keep && f.data.length) s.chunks.push(f.data);
        if (f.fin) s.fin = true;
      }
    }
    this.wake();
  }
}
