// Numbered channels over one WebSocket (the channel.k8s.io subprotocols): every message starts
// with its channel number, a raw byte, or in the base64 variants an ASCII digit before base64
// data (in text messages). In v5 a message on channel 255 closes the channel named by its next
// byte (the client's stdin EOF). Each channel is a Duplex: what the client sends on it is
// readable, what berthd writes goes to the client on it. A channel the client fills faster than
// it is read pauses the WebSocket.
import { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { WebSocketProtocol } from './protocol-versions.ts';

const CLOSE_CHANNEL = 255;

export class WebSocketChannel extends Duplex {
  constructor(private readonly mux: WebSocketChannels, readonly channel: number) {
    super({ allowHalfOpen: true });
    this.on('error', () => undefined);
  }

  override _read(): void {
    this.mux.readPressure(this, false);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.mux.send(this.channel, chunk, () => cb());
  }

  receive(data: Buffer): void {
    if (this.readableEnded) return;
    if (!this.push(data)) this.mux.readPressure(this, true);
  }

  endReadable(): void {
    if (!this.readableEnded) this.push(null);
  }
}

export class WebSocketChannels {
  private readonly channels = new Map<number, WebSocketChannel>();
  private readonly full = new Set<WebSocketChannel>();
  private readonly lostController = new AbortController();
  private closing = false;

  constructor(private readonly ws: WebSocket, private readonly protocol: WebSocketProtocol) {
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', () => {
      for (const c of this.channels.values()) c.endReadable();
      if (!this.closing) this.lostController.abort(new Error('the client closed the WebSocket'));
    });
    ws.on('error', () => ws.terminate());
  }

  /** Aborts when the WebSocket closes before `close()`. */
  get lost(): AbortSignal {
    return this.lostController.signal;
  }

  channel(n: number): WebSocketChannel {
    let c = this.channels.get(n);
    if (!c) {
      c = new WebSocketChannel(this, n);
      this.channels.set(n, c);
    }
    return c;
  }

  send(channel: number, data: Buffer, done: () => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return done();
    const message = this.protocol.base64 ? String.fromCharCode(48 + channel) + data.toString('base64') : Buffer.concat([Buffer.from([channel]), data]);
    this.ws.send(message, { binary: !this.protocol.base64 }, () => done());
  }

  readPressure(channel: WebSocketChannel, full: boolean): void {
    if (full) this.full.add(channel);
    else this.full.delete(channel);
    if (this.full.size > 0) this.ws.pause();
    else this.ws.resume();
  }

  /** Orderly end: a normal closure, which the client's readers take as EOF. */
  close(): void {
    this.closing = true;
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
  }

  private receive(raw: RawData, isBinary: boolean): void {
    const data = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    if (data.length === 0) return;
    if (this.protocol.base64) {
      if (isBinary) return;
      const n = data[0]! - 48;
      this.channels.get(n)?.receive(Buffer.from(data.subarray(1).toString('latin1'), 'base64'));
      return;
    }
    if (data[0] === CLOSE_CHANNEL && this.protocol.version >= 5) {
      if (data.length >= 2) this.channels.get(data[1]!)?.endReadable();
      return;
    }
    this.channels.get(data[0]!)?.receive(data.subarray(1));
  }
}
