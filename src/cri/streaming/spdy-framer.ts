// SPDY/3.1 frames to bytes and back (draft 3.1, section 2.2 and 2.6). Every frame has an 8-byte
// header: a control frame starts with the control bit, the version (15 bits) and the type (16
// bits); a data frame with a zero bit and the stream id (31 bits). Both then carry flags (8 bits)
// and the payload length (24 bits). Reads arrive split and coalesced at any byte: FrameDecoder
// buffers until a frame is whole.
import { decodeHeaderBlock, encodeHeaderBlock } from './spdy-header-block.ts';
import type { HeaderCompressor, HeaderDecompressor } from './spdy-header-compression.ts';
import {
  CONTROL, FLAG_CLEAR_SETTINGS, FLAG_FIN, FLAG_UNIDIRECTIONAL, MAX_FRAME_LENGTH, SPDY_VERSION,
  SpdyProtocolError, type SpdyFrame, type SpdyHeaders,
} from './spdy-frame.ts';

const HEADER = 8;
const STREAM_ID = 0x7fffffff;

export type OutgoingFrame = Exclude<SpdyFrame, { type: 'unknown' }>;

/** The 8 bytes before a data frame's payload (written separately, so the payload is not copied). */
export function dataFrameHeader(streamId: number, fin: boolean, length: number): Buffer {
  if (length > MAX_FRAME_LENGTH) throw new SpdyProtocolError(`data frame of ${length} bytes is too large`);
  const h = Buffer.alloc(HEADER);
  h.writeUInt32BE(streamId & STREAM_ID, 0);
  h.writeUInt32BE(((fin ? FLAG_FIN : 0) << 24 | length) >>> 0, 4);
  return h;
}

export function encodeFrame(frame: OutgoingFrame, compressor: HeaderCompressor): Buffer {
  switch (frame.type) {
    case 'data':
      return Buffer.concat([dataFrameHeader(frame.streamId, frame.fin, frame.data.length), frame.data]);
    case 'syn_stream': {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(frame.streamId & STREAM_ID, 0);
      fixed.writeUInt32BE(frame.associatedTo & STREAM_ID, 4);
      fixed[8] = (frame.priority & 7) << 5;
      const flags = (frame.fin ? FLAG_FIN : 0) | (frame.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
      return control(CONTROL.synStream, flags, fixed, compressHeaders(frame.headers, compressor));
    }
    case 'syn_reply':
      return control(CONTROL.synReply, frame.fin ? FLAG_FIN : 0, u32(frame.streamId & STREAM_ID), compressHeaders(frame.headers, compressor));
    case 'headers':
      return control(CONTROL.headers, frame.fin ? FLAG_FIN : 0, u32(frame.streamId & STREAM_ID), compressHeaders(frame.headers, compressor));
    case 'rst_stream':
      return control(CONTROL.rstStream, 0, u32(frame.streamId & STREAM_ID), u32(frame.status));
    case 'settings': {
      const body = Buffer.alloc(4 + 8 * frame.entries.length);
      body.writeUInt32BE(frame.entries.length, 0);
      frame.entries.forEach((e, i) => {
        body.writeUInt32BE(((e.flags & 0xff) << 24 | (e.id & 0xffffff)) >>> 0, 4 + 8 * i);
        body.writeUInt32BE(e.value >>> 0, 8 + 8 * i);
      });
      return control(CONTROL.settings, frame.clear ? FLAG_CLEAR_SETTINGS : 0, body);
    }
    case 'ping':
      return control(CONTROL.ping, 0, u32(frame.id));
    case 'goaway':
      return control(CONTROL.goAway, 0, u32(frame.lastGoodStreamId & STREAM_ID), u32(frame.status));
    case 'window_update':
      return control(CONTROL.windowUpdate, 0, u32(frame.streamId & STREAM_ID), u32(frame.delta & STREAM_ID));
  }
}

function compressHeaders(headers: SpdyHeaders, compressor: HeaderCompressor): Buffer {
  return compressor.compress(encodeHeaderBlock(headers));
}

function control(type: number, flags: number, ...payload: Buffer[]): Buffer {
  const length = payload.reduce((n, p) => n + p.length, 0);
  if (length > MAX_FRAME_LENGTH) throw new SpdyProtocolError(`control frame of ${length} bytes is too large`);
  const h = Buffer.alloc(HEADER);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24 | length) >>> 0, 4);
  return Buffer.concat([h, ...payload]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** Turns a byte stream into frames, decompressing header blocks in arrival order. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly decompressor: HeaderDecompressor) {}

  /** The frames completed by this chunk (none, one or many). Throws SpdyProtocolError. */
  push(chunk: Buffer): SpdyFrame[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: SpdyFrame[] = [];
    while (this.buffered >= HEADER) {
      const length = this.peekHeader().readUInt32BE(4) & MAX_FRAME_LENGTH;
      if (this.buffered < HEADER + length) break;
      out.push(this.decode(this.take(HEADER + length)));
    }
    return out;
  }

  /** Bytes held for a frame not yet complete. */
  get pending(): number {
    return this.buffered;
  }

  private peekHeader(): Buffer {
    const parts: Buffer[] = [];
    let n = 0;
    for (const c of this.chunks) {
      parts.push(c);
      n += c.length;
      if (n >= HEADER) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const c = this.chunks[0]!;
      if (c.length <= need) {
        parts.push(c);
        this.chunks.shift();
        need -= c.length;
      } else {
        parts.push(c.subarray(0, need));
        this.chunks[0] = c.subarray(need);
        need = 0;
      }
    }
    return Buffer.concat(parts, n);
  }

  private decode(frame: Buffer): SpdyFrame {
    const word = frame.readUInt32BE(0);
    const flags = frame[4]!;
    const body = frame.subarray(HEADER);
    if ((word & 0x80000000) === 0) {
      const streamId = word & STREAM_ID;
      if (streamId === 0) throw new SpdyProtocolError('data frame on stream 0');
      return { type: 'data', streamId, fin: (flags & FLAG_FIN) !== 0, data: body };
    }
    const version = (word >>> 16) & 0x7fff;
    if (version !== SPDY_VERSION) throw new SpdyProtocolError(`control frame of SPDY version ${version}, not ${SPDY_VERSION}`);
    const type = word & 0xffff;
    const need = (n: number, what: string): void => {
      if (body.length < n) throw new SpdyProtocolError(`${what} frame of ${body.length} bytes, shorter than ${n}`);
    };
    const streamAt = (offset: number, what: string): number => {
      const id = body.readUInt32BE(offset) & STREAM_ID;
      if (id === 0) throw new SpdyProtocolError(`${what} frame on stream 0`);
      return id;
    };
    const fin = (flags & FLAG_FIN) !== 0;
    switch (type) {
      case CONTROL.synStream: {
        need(10, 'SYN_STREAM');
        const streamId = streamAt(0, 'SYN_STREAM');
        return {
          type: 'syn_stream', streamId, fin,
          associatedTo: body.readUInt32BE(4) & STREAM_ID,
          priority: body[8]! >> 5,
          unidirectional: (flags & FLAG_UNIDIRECTIONAL) !== 0,
          headers: this.headers(body.subarray(10)),
        };
      }
      case CONTROL.synReply:
        need(4, 'SYN_REPLY');
        return { type: 'syn_reply', streamId: streamAt(0, 'SYN_REPLY'), fin, headers: this.headers(body.subarray(4)) };
      case CONTROL.headers:
        need(4, 'HEADERS');
        return { type: 'headers', streamId: streamAt(0, 'HEADERS'), fin, headers: this.headers(body.subarray(4)) };
      case CONTROL.rstStream:
        need(8, 'RST_STREAM');
        return { type: 'rst_stream', streamId: streamAt(0, 'RST_STREAM'), status: body.readUInt32BE(4) };
      case CONTROL.settings: {
        need(4, 'SETTINGS');
        const count = body.readUInt32BE(0);
        need(4 + 8 * count, 'SETTINGS');
        const entries = [];
        for (let i = 0; i < count; i++) {
          const idFlags = body.readUInt32BE(4 + 8 * i);
          entries.push({ flags: idFlags >>> 24, id: idFlags & 0xffffff, value: body.readUInt32BE(8 + 8 * i) });
        }
        return { type: 'settings', clear: (flags & FLAG_CLEAR_SETTINGS) !== 0, entries };
      }
      case CONTROL.ping:
        need(4, 'PING');
        return { type: 'ping', id: body.readUInt32BE(0) };
      case CONTROL.goAway:
        need(4, 'GOAWAY');
        return { type: 'goaway', lastGoodStreamId: body.readUInt32BE(0) & STREAM_ID, status: body.length >= 8 ? body.readUInt32BE(4) : 0 };
      case CONTROL.windowUpdate:
        need(8, 'WINDOW_UPDATE');
        return { type: 'window_update', streamId: body.readUInt32BE(0) & STREAM_ID, delta: body.readUInt32BE(4) & STREAM_ID };
      default:
        return { type: 'unknown', controlType: type, flags, payload: body };
    }
  }

  private headers(compressed: Buffer): SpdyHeaders {
    return decodeHeaderBlock(this.decompressor.decompress(compressed));
  }
}
