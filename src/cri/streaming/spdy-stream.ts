// One SPDY stream opened by the client, as a Node Duplex: what the client sends is readable, what
// berthd writes goes out as DATA frames. The client's FIN ends the readable side; ending the
// writable side sends FIN. Both directions close independently (half-close), and either side's
// RST_STREAM ends both at once (the client's emits 'reset').
import { Duplex } from 'node:stream';
import { RST, type SpdyHeaders } from './spdy-frame.ts';

/** What a stream needs from its connection. */
export interface SpdyStreamHost {
  sendReply(stream: SpdyStream): void;
  sendReset(stream: SpdyStream, status: number): void;
  /** Calls `done` once the socket can take more (backpressure); never with an error. */
  sendData(stream: SpdyStream, data: Buffer, fin: boolean, done: () => void): void;
  /** The readable side is full (stop reading the socket) or wants more. */
  readPressure(stream: SpdyStream, full: boolean): void;
  /** Both directions are over: forget the stream. */
  streamDone(stream: SpdyStream): void;
}

export class SpdyStream extends Duplex {
  private replied = false;
  private localFinished = false;
  private remoteFinished = false;
  private wasReset = false;
  private forgotten = false;

  constructor(
    private readonly host: SpdyStreamHost,
    readonly id: number,
    readonly headers: SpdyHeaders,
    opts: { remoteFin: boolean; unidirectional: boolean },
  ) {
    super({ allowHalfOpen: true, autoDestroy: true });
    // The only errors a stream raises are a writer's misuse (a write after end), which the writer
    // also gets in its callback: they must not take the daemon down.
    this.on('error', () => undefined);
    // A unidirectional stream takes nothing back: our side is finished from the start.
    if (opts.unidirectional) {
      this.localFinished = true;
      this.replied = true;
    }
    if (opts.remoteFin) this.remoteEnd();
  }

  /** The first value of one of the headers the client opened the stream with. */
  header(name: string): string | undefined {
    return this.headers.get(name)?.[0];
  }

  /** Sends SYN_REPLY: the client waits for it before using the stream. */
  accept(): void {
    if (this.replied || this.wasReset) return;
    this.replied = true;
    this.host.sendReply(this);
  }

  /** Sends RST_STREAM (REFUSED_STREAM before a reply, CANCEL after) and ends both directions. */
  reset(status: number = this.replied ? RST.cancel : RST.refusedStream): void {
    if (this.wasReset || (this.localFinished && this.remoteFinished)) {
      this.destroy();
      return;
    }
    this.wasReset = true;
    this.host.sendReset(this, status);
    this.closeBoth();
  }

  get isReset(): boolean {
    return this.wasReset;
  }

  // --- from the connection ---

  receiveData(data: Buffer, fin: boolean): void {
    if (this.remoteFinished || this.wasReset) return;
    if (data.length && !this.push(data)) this.host.readPressure(this, true);
    if (fin) this.remoteEnd();
  }

  receiveReset(): void {
    if (this.wasReset) return;
    this.wasReset = true;
    this.closeBoth();
    this.emit('reset');
  }

  /** The connection is gone: the readable side ends, writes are dropped. */
  connectionClosed(): void {
    this.wasReset = true;
    this.closeBoth();
  }

  // --- Duplex ---

  override _read(): void {
    this.host.readPressure(this, false);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.wasReset || this.localFinished) return cb();
    this.accept();
    this.host.sendData(this, chunk, false, () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.wasReset || this.localFinished) return cb();
    this.accept();
    this.localFinished = true;
    this.host.sendData(this, Buffer.alloc(0), true, () => {
      this.maybeDone();
      cb();
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.wasReset && !(this.localFinished && this.remoteFinished)) {
      this.wasReset = true;
      this.host.sendReset(this, this.replied ? RST.cancel : RST.refusedStream);
    }
    this.forget();
    cb(err);
  }

  private remoteEnd(): void {
    this.remoteFinished = true;
    this.push(null);
    this.maybeDone();
  }

  private closeBoth(): void {
    this.localFinished = true;
    if (!this.remoteFinished) {
      this.remoteFinished = true;
      this.push(null);
    }
    // Writes from now on are dropped (see _write): the writer need not know the stream is gone.
    this.forget();
  }

  private maybeDone(): void {
    if (this.localFinished && this.remoteFinished) this.forget();
  }

  private forget(): void {
    if (this.forgotten) return;
    this.forgotten = true;
    this.host.streamDone(this);
  }
}
