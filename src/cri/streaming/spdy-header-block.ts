// The SPDY/3 name/value header block before compression (draft 3, section 2.6.10): a 32-bit count,
// then per header a 32-bit length and the lower-case name, a 32-bit length and the value; several
// values of one name are joined with NUL bytes.
import { SpdyProtocolError, type SpdyHeaders } from './spdy-frame.ts';

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [u32(headers.size)];
  for (const [name, values] of headers) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const headers: SpdyHeaders = new Map();
  let at = 0;
  const take = (what: string): Buffer => {
    if (block.length - at < 4) throw new SpdyProtocolError(`header block ends inside the length of ${what}`);
    const len = block.readUInt32BE(at);
    at += 4;
    if (block.length - at < len) throw new SpdyProtocolError(`header block ends inside ${what} (${len} bytes)`);
    const out = block.subarray(at, at + len);
    at += len;
    return out;
  };
  if (block.length < 4) throw new SpdyProtocolError('header block shorter than its count');
  const count = block.readUInt32BE(0);
  at = 4;
  for (let i = 0; i < count; i++) {
    const name = take('a header name').toString('utf8');
    if (!name) throw new SpdyProtocolError('header block has an empty header name');
    const values = take(`the value of ${name}`).toString('utf8').split('\0');
    // Header names are lower case on the wire; Go's framer accepts other spellings and lower-cases them.
    const key = name.toLowerCase();
    headers.set(key, [...(headers.get(key) ?? []), ...values]);
  }
  if (at !== block.length) throw new SpdyProtocolError(`header block has ${block.length - at} bytes after its last header`);
  return headers;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
