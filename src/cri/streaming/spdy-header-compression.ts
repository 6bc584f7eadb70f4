// Header blocks travel in one zlib stream per direction per connection, compressed against the
// SPDY/3 dictionary, each block ending on a sync flush so the peer can decode it whole. A frame's
// block must be handled before the next frame, so this runs synchronously, on Node's one-shot
// raw deflate/inflate: after a sync flush the only state a deflate stream carries into its next
// block is its window, the last 32 KiB of uncompressed data (the dictionary first). Each block is
// therefore (de)compressed on its own with that window as the preset dictionary, which yields
// exactly the bytes of one continuous stream. The first block of each direction also carries the
// 2-byte zlib header and the dictionary's id.
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { SPDY3_DICTIONARY } from './spdy-dictionary.ts';
import { SpdyProtocolError } from './spdy-frame.ts';

/** A decoded header block larger than this ends the connection (a compressed bomb, or abuse). */
export const MAX_HEADER_BLOCK = 256 * 1024;
const WINDOW = 32 * 1024;

export function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    // 5552 bytes is the most that can be summed before b can overflow 2^32 (zlib's NMAX).
    const end = Math.min(i + 5552, data.length);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return (b * 65536 + a) >>> 0;
}

const DICTIONARY_ID = adler32(SPDY3_DICTIONARY);

/** CMF 0x78 (deflate, 32 KiB window), FLG with FDICT and the check bits, then the dictionary id. */
function zlibHeader(): Buffer {
  const cmf = 0x78;
  let flg = 0x80 | 0x20;
  flg += 31 - ((cmf * 256 + flg) % 31);
  const h = Buffer.alloc(6);
  h[0] = cmf;
  h[1] = flg;
  h.writeUInt32BE(DICTIONARY_ID, 2);
  return h;
}

function slide(window: Buffer, data: Buffer): Buffer {
  const next = Buffer.concat([window, data]);
  return next.length > WINDOW ? next.subarray(next.length - WINDOW) : next;
}

export class HeaderCompressor {
  private window: Buffer = SPDY3_DICTIONARY;
  private started = false;

  compress(block: Buffer): Buffer {
    const out = deflateRawSync(block, { dictionary: this.window, level: 9, finishFlush: constants.Z_SYNC_FLUSH });
    this.window = slide(this.window, block);
    if (this.started) return out;
    this.started = true;
    return Buffer.concat([zlibHeader(), out]);
  }
}

export class HeaderDecompressor {
  private window: Buffer = SPDY3_DICTIONARY;
  private started = false;

  decompress(data: Buffer): Buffer {
    let body = data;
    if (!this.started) {
      body = data.subarray(this.readZlibHeader(data));
      this.started = true;
    }
    let out: Buffer;
    try {
      out = inflateRawSync(body, { dictionary: this.window, finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_HEADER_BLOCK });
    } catch (err) {
      throw new SpdyProtocolError(`header block does not decompress: ${(err as Error).message}`);
    }
    this.window = slide(this.window, out);
    return out;
  }

  /** Checks the stream's zlib header; returns its length. */
  private readZlibHeader(data: Buffer): number {
    if (data.length < 2) throw new SpdyProtocolError('header block does not decompress: no zlib header');
    const cmf = data[0]!;
    const flg = data[1]!;
    if ((cmf & 0x0f) !== 8 || (cmf * 256 + flg) % 31 !== 0) throw new SpdyProtocolError('header block does not decompress: not a zlib stream');
    if ((flg & 0x20) === 0) {
      this.window = Buffer.alloc(0);
      return 2;
    }
    if (data.length < 6) throw new SpdyProtocolError('header block does not decompress: zlib header cut short');
    const id = data.readUInt32BE(2);
    if (id !== DICTIONARY_ID) throw new SpdyProtocolError(`header block does not decompress: dictionary ${id.toString(16)} is not SPDY/3's`);
    return 6;
  }
}
