// Go gRPC clients that dial a unix socket by its path (grpc-go before 1.34 always; later ones
// through the passthrough resolver unless given WithAuthority) send that path as `:authority`:
// "/run/berth/berthd.sock". Node's HTTP/2 layer (nghttp2) checks `:authority` and `host` against
// RFC 3986's authority characters, where '/' is not one, and resets the stream with
// PROTOCOL_ERROR before grpc-js ever sees the call. No Node option turns that check off.
//
// So berthd rewrites what a client sends before nghttp2 reads it: the HTTP/2 frames pass through
// untouched except HEADERS/CONTINUATION, whose header block is decoded (HPACK, with the client's
// dynamic table), given `:authority: localhost` where the value is not a valid authority, and
// re-encoded as plain literals (so nghttp2's dynamic table stays empty and cannot disagree with the
// client's). DATA is streamed, never buffered. Server -> client bytes are not touched.
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { BerthError } from '../../oci/errors.ts';
import { encodeLiterals, HpackDecoder, type HeaderField } from './hpack.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER = 9;
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
/** SETTINGS_MAX_FRAME_SIZE's initial value: every peer accepts frames this large. */
const MAX_FRAME = 16384;
/** A header block larger than this (over its frames) ends the connection. */
const MAX_HEADER_BLOCK = 1024 * 1024;

/** The value berthd puts where a client sent something that is not an authority. */
export const UNIX_AUTHORITY = 'localhost';

// nghttp2_check_authority: unreserved, sub-delims, ':', '@', '%' (pct-encoded), '[' and ']'.
const AUTHORITY_RE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%[\]]+$/;

export function validAuthority(value: string): boolean {
  return AUTHORITY_RE.test(value);
}

/** The request's headers with an invalid `:authority` or `host` replaced. */
export function fixAuthority(fields: readonly HeaderField[]): HeaderField[] {
  return fields.map(([name, value]) => ((name === ':authority' || name === 'host') && !validAuthority(value) ? [name, UNIX_AUTHORITY] : [name, value]));
}

function protocolError(why: string): BerthError {
  return new BerthError('invalid-argument', `HTTP/2 from client: ${why}`, { op: 'http2' });
}

interface PendingBlock {
  streamId: number;
  flags: number;
  /** The 5 priority bytes of the HEADERS frame, kept as they were. */
  priority?: Buffer;
  parts: Buffer[];
  bytes: number;
}

/** Client -> server bytes in, the bytes nghttp2 should read out. One instance per connection. */
export class RequestHeaderRewriter {
  private readonly decoder = new HpackDecoder();
  private prefaceSeen = 0;
  /** Not HTTP/2 (no preface): everything passes through for nghttp2 to refuse. */
  private passthrough = false;
  private buffered: Buffer = Buffer.alloc(0);
  /** Payload bytes of a non-header frame still to forward as they come. */
  private streaming = 0;
  private pending: PendingBlock | undefined;

  /** Bytes to forward for `chunk`; throws a BerthError when the connection must end. */
  push(chunk: Buffer): Buffer[] {
    if (this.passthrough) return [chunk];
    const out: Buffer[] = [];
    let data = chunk;
    if (this.prefaceSeen < PREFACE.length) {
      const n = Math.min(PREFACE.length - this.prefaceSeen, data.length);
      if (!data.subarray(0, n).equals(PREFACE.subarray(this.prefaceSeen, this.prefaceSeen + n))) {
        this.passthrough = true;
        return [chunk];
      }
      this.prefaceSeen += n;
      out.push(data.subarray(0, n));
      data = data.subarray(n);
    }
    if (this.streaming > 0) {
      const n = Math.min(this.streaming, data.length);
      out.push(data.subarray(0, n));
      this.streaming -= n;
      data = data.subarray(n);
    }
    if (data.length === 0) return out;
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, data]) : data;
    while (this.buffered.length >= FRAME_HEADER) {
      const length = this.buffered.readUIntBE(0, 3);
      const type = this.buffered[3]!;
      if (type !== HEADERS && type !== CONTINUATION) {
        if (this.pending) throw protocolError(`frame type ${type} inside the header block of stream ${this.pending.streamId}`);
        // Forward what is here; the rest of the payload streams through as it arrives.
        const n = Math.min(FRAME_HEADER + length, this.buffered.length);
        out.push(this.buffered.subarray(0, n));
        this.streaming = FRAME_HEADER + length - n;
        this.buffered = this.buffered.subarray(n);
        continue;
      }
      if (length > MAX_HEADER_BLOCK) throw protocolError(`header frame of ${length} bytes`);
      if (this.buffered.length < FRAME_HEADER + length) break;
      const frame = this.buffered.subarray(0, FRAME_HEADER + length);
      this.buffered = this.buffered.subarray(FRAME_HEADER + length);
      out.push(...this.headerFrame(type, frame));
    }
    return out;
  }

  private headerFrame(type: number, frame: Buffer): Buffer[] {
    const flags = frame[4]!;
    const streamId = frame.readUInt32BE(5) & 0x7fffffff;
    let payload = frame.subarray(FRAME_HEADER);
    if (type === HEADERS) {
      if (this.pending) throw protocolError(`HEADERS for stream ${streamId} inside the header block of stream ${this.pending.streamId}`);
      let priority: Buffer | undefined;
      if (flags & PADDED) {
        if (payload.length < 1 || payload[0]! >= payload.length) throw protocolError('HEADERS padding longer than the frame');
        payload = payload.subarray(1, payload.length - payload[0]!);
      }
      if (flags & PRIORITY) {
        if (payload.length < 5) throw protocolError('HEADERS priority fields truncated');
        priority = Buffer.from(payload.subarray(0, 5));
        payload = payload.subarray(5);
      }
      this.pending = { streamId, flags, priority, parts: [], bytes: 0 };
    } else if (!this.pending || this.pending.streamId !== streamId) {
      throw protocolError(`CONTINUATION for stream ${streamId} without a header block`);
    }
    const p = this.pending;
    p.parts.push(Buffer.from(payload));
    p.bytes += payload.length;
    if (p.bytes > MAX_HEADER_BLOCK) throw protocolError(`header block of more than ${MAX_HEADER_BLOCK} bytes`);
    if (!(flags & END_HEADERS)) return [];
    this.pending = undefined;
    const block = encodeLiterals(fixAuthority(this.decoder.decode(Buffer.concat(p.parts, p.bytes))));
    return frameHeaderBlock(p.streamId, p.flags & END_STREAM, p.priority, block);
  }
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return h;
}

/** A header block as HEADERS (+ CONTINUATION) frames no larger than every peer accepts. */
export function frameHeaderBlock(streamId: number, endStream: number, priority: Buffer | undefined, block: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const first = MAX_FRAME - (priority ? 5 : 0);
  let chunk = block.subarray(0, first);
  let rest = block.subarray(chunk.length);
  let flags = endStream | (priority ? PRIORITY : 0) | (rest.length === 0 ? END_HEADERS : 0);
  out.push(frameHeader(chunk.length + (priority ? 5 : 0), HEADERS, flags, streamId));
  if (priority) out.push(priority);
  out.push(chunk);
  while (rest.length > 0) {
    chunk = rest.subarray(0, MAX_FRAME);
    rest = rest.subarray(chunk.length);
    flags = rest.length === 0 ? END_HEADERS : 0;
    out.push(frameHeader(chunk.length, CONTINUATION, flags, streamId), chunk);
  }
  return out;
}

/**
 * The connection as the HTTP/2 server should see it: what the client sends, rewritten; what the
 * server writes, straight to the socket. `onError` hears why a connection was cut.
 */
export function rewritingConnection(socket: Socket, onError: (err: unknown) => void): Duplex {
  const rewriter = new RequestHeaderRewriter();
  let corked = false;
  const conn = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, done) {
      // HTTP/2 hands a response over as many small chunks (frame headers, data): they leave in one
      // writev at the end of this tick rather than one syscall (and one reader wake-up) each.
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      if (socket.write(chunk)) done();
      else socket.once('drain', () => done());
    },
    final(done) {
      socket.end(() => done());
    },
    destroy(err, done) {
      socket.destroy();
      done(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    let out: Buffer[];
    try {
      out = rewriter.push(chunk);
    } catch (err) {
      onError(err);
      conn.destroy();
      return;
    }
    let more = true;
    for (const b of out) more = conn.push(b) && more;
    if (!more) socket.pause();
  });
  socket.on('end', () => conn.push(null));
  socket.on('error', (err) => conn.destroy(err));
  socket.on('close', () => conn.destroy());
  return conn;
}
