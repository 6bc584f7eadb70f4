// The server side of a SPDY/3.1 session on an upgraded socket. Clients (client-go, the kubelet's
// peers) open every stream; berthd replies, sends data, answers PING, honours RST_STREAM and
// GOAWAY. SETTINGS and WINDOW_UPDATE are read and ignored: the Go peers never send WINDOW_UPDATE,
// so SPDY flow-control windows would stall; backpressure comes from the socket instead (a stream
// waits for the socket to drain; a full stream stops the socket being read).
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { FrameDecoder, dataFrameHeader, encodeFrame, type OutgoingFrame } from './spdy-framer.ts';
import { HeaderCompressor, HeaderDecompressor } from './spdy-header-compression.ts';
import { GOAWAY, RST, SpdyProtocolError, type SpdyFrame } from './spdy-frame.ts';
import { SpdyStream, type SpdyStreamHost } from './spdy-stream.ts';

/** Larger writes go out as several DATA frames, so streams interleave. */
const MAX_DATA_FRAME = 64 * 1024;
/** After our GOAWAY, how long the peer gets to close before the socket is destroyed. */
const CLOSE_GRACE_MS = 5000;

export interface SpdyConnectionOptions {
  /** No frame read or written for this long closes the connection; 0 never. */
  idleTimeoutMs: number;
}

export interface SpdyConnectionEvents {
  stream: [SpdyStream];
  /** The socket is gone. `reason` says why when it was not an orderly close. */
  close: [reason: Error | undefined];
}

export class SpdyConnection extends EventEmitter<SpdyConnectionEvents> implements SpdyStreamHost {
  private readonly compressor = new HeaderCompressor();
  private readonly decoder = new FrameDecoder(new HeaderDecompressor());
  private readonly streams = new Map<number, SpdyStream>();
  private readonly full = new Set<SpdyStream>();
  private drainWaiters: Array<() => void> = [];
  private lastRemoteId = 0;
  private goingAway = false;
  private ended = false;
  private closeReason: Error | undefined;

  constructor(private readonly socket: Duplex & { setTimeout?(ms: number): unknown }, head: Buffer, opts: SpdyConnectionOptions) {
    super();
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.drained());
    socket.on('error', (err: Error) => this.destroy(err));
    socket.on('close', () => this.closed());
    // The peer closed its side: nothing more can arrive (no stdin, no ping). Go clients never
    // half-close while they still want output, so this is the client going away.
    socket.on('end', () => this.destroy(this.streams.size ? new Error('the client closed the connection') : undefined));
    if (opts.idleTimeoutMs > 0 && socket.setTimeout) {
      socket.setTimeout(opts.idleTimeoutMs);
      socket.on('timeout', () => this.destroy(new Error(`idle for ${opts.idleTimeoutMs} ms`)));
    }
    if (head.length) queueMicrotask(() => this.receive(head));
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Streams still open in at least one direction. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Orderly end: resets what is still open, sends GOAWAY, closes our side of the socket. */
  close(): void {
    if (this.goingAway && this.socket.writableEnded) return;
    this.goingAway = true;
    for (const s of [...this.streams.values()]) s.reset(RST.cancel);
    this.writeControl({ type: 'goaway', lastGoodStreamId: this.lastRemoteId, status: GOAWAY.ok });
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    t.unref();
  }

  /** Abrupt end (a protocol error, an idle timeout, the server stopping). */
  destroy(reason?: Error): void {
    if (this.ended) return;
    this.closeReason ??= reason;
    this.socket.destroy();
  }

  // --- SpdyStreamHost ---

  sendReply(stream: SpdyStream): void {
    this.writeControl({ type: 'syn_reply', streamId: stream.id, fin: false, headers: new Map() });
  }

  sendReset(stream: SpdyStream, status: number): void {
    this.writeControl({ type: 'rst_stream', streamId: stream.id, status });
  }

  sendData(stream: SpdyStream, data: Buffer, fin: boolean, done: () => void): void {
    if (this.ended || this.socket.writableEnded) return done();
    let ok = true;
    this.socket.cork();
    let at = 0;
    do {
      const part = data.subarray(at, at + MAX_DATA_FRAME);
      at += part.length;
      const last = at >= data.length;
      ok = this.socket.write(dataFrameHeader(stream.id, fin && last, part.length));
      if (part.length) ok = this.socket.write(part);
    } while (at < data.length);
    this.socket.uncork();
    if (ok) done();
    else this.drainWaiters.push(done);
  }

  readPressure(stream: SpdyStream, full: boolean): void {
    if (full) this.full.add(stream);
    else this.full.delete(stream);
    this.updateReading();
  }

  streamDone(stream: SpdyStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.full.delete(stream);
    this.updateReading();
  }

  // --- frames in ---

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    let frames: SpdyFrame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      return this.protocolError(err);
    }
    for (const f of frames) {
      if (this.ended) return;
      this.handle(f);
    }
  }

  private handle(f: SpdyFrame): void {
    switch (f.type) {
      case 'syn_stream':
        return this.openStream(f);
      case 'data':
        return this.streams.get(f.streamId)?.receiveData(f.data, f.fin);
      case 'headers':
        if (f.fin) this.streams.get(f.streamId)?.receiveData(Buffer.alloc(0), true);
        return;
      case 'rst_stream':
        return this.streams.get(f.streamId)?.receiveReset();
      case 'ping':
        // Client pings are odd, ours would be even (we send none).
        if (f.id % 2 === 1) this.writeControl({ type: 'ping', id: f.id });
        return;
      case 'goaway':
        this.goingAway = true;
        if (this.streams.size === 0) this.close();
        return;
      case 'syn_reply':
      case 'settings':
      case 'window_update':
      case 'unknown':
        return;
    }
  }

  private openStream(f: Extract<SpdyFrame, { type: 'syn_stream' }>): void {
    const refuse = (status: number): void => this.writeControl({ type: 'rst_stream', streamId: f.streamId, status });
    if (f.streamId % 2 === 0 || f.streamId <= this.lastRemoteId) return refuse(RST.protocolError);
    this.lastRemoteId = f.streamId;
    if (this.goingAway) return refuse(RST.refusedStream);
    const stream = new SpdyStream(this, f.streamId, f.headers, { remoteFin: f.fin, unidirectional: f.unidirectional });
    this.streams.set(f.streamId, stream);
    this.emit('stream', stream);
  }

  // --- socket ---

  private writeControl(frame: OutgoingFrame): void {
    if (this.ended || this.socket.writableEnded) return;
    this.socket.write(encodeFrame(frame, this.compressor));
  }

  private protocolError(err: unknown): void {
    const status = err instanceof SpdyProtocolError ? err.goAwayStatus : GOAWAY.internalError;
    this.writeControl({ type: 'goaway', lastGoodStreamId: this.lastRemoteId, status });
    this.destroy(err instanceof Error ? err : new Error(String(err)));
  }

  private updateReading(): void {
    if (this.ended) return;
    if (this.full.size > 0) this.socket.pause();
    else this.socket.resume();
  }

  private drained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private closed(): void {
    if (this.ended) return;
    this.ended = true;
    for (const s of [...this.streams.values()]) s.connectionClosed();
    this.streams.clear();
    this.drained();
    this.emit('close', this.closeReason);
  }
}
