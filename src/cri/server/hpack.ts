// HPACK (RFC 7541), the subset berthd needs to rewrite a client's request headers: a full decoder
// (static and dynamic table, integers, Huffman strings, table size updates) and an encoder that
// writes every field as a plain "literal without indexing", so that the peer's dynamic table
// stays empty and never has to agree with the client's.
import { BerthError } from '../../oci/errors.ts';
import { huffmanDecode } from './hpack-huffman.ts';

export type HeaderField = [name: string, value: string];

// RFC 7541 Appendix A
const STATIC_TABLE: readonly HeaderField[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];

/** An entry's size in the table: its name and value octets plus 32 (RFC 7541 section 4.1). */
const entrySize = (f: HeaderField): number => Buffer.byteLength(f[0]) + Buffer.byteLength(f[1]) + 32;

function malformed(why: string): BerthError {
  return new BerthError('invalid-argument', `HPACK header block: ${why}`, { op: 'hpack' });
}

/** One connection's decoding state: the dynamic table the client's encoder fills. */
export class HpackDecoder {
  private table: HeaderField[] = []; // newest first
  private size = 0;
  /** The limit the encoder chose last (a size update), at most `maxSize`. */
  private limit: number;

  /** `maxSize`: SETTINGS_HEADER_TABLE_SIZE the server announced (4096 unless changed). */
  constructor(private readonly maxSize = 4096) {
    this.limit = maxSize;
  }

  decode(block: Uint8Array): HeaderField[] {
    const out: HeaderField[] = [];
    const r = { pos: 0 };
    let fieldsSeen = false;
    while (r.pos < block.length) {
      const b = block[r.pos]!;
      if (b & 0x80) {
        out.push(this.lookup(readInt(block, r, 7)));
      } else if (b & 0x40) {
        const field = this.literal(block, r, 6);
        this.insert(field);
        out.push(field);
      } else if (b & 0x20) {
        // A size update is only allowed before the first field of a block.
        if (fieldsSeen) throw malformed('dynamic table size update after a header field');
        const size = readInt(block, r, 5);
        if (size > this.maxSize) throw malformed(`table size ${size} above the ${this.maxSize} allowed`);
        this.resize(size);
        continue;
      } else {
        out.push(this.literal(block, r, 4)); // without indexing (0000) or never indexed (0001)
      }
      fieldsSeen = true;
    }
    return out;
  }

  private lookup(index: number): HeaderField {
    if (index === 0) throw malformed('index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const f = this.table[index - STATIC_TABLE.length - 1];
    if (!f) throw malformed(`index ${index} beyond the dynamic table`);
    return f;
  }

  private literal(block: Uint8Array, r: { pos: number }, prefix: number): HeaderField {
    const index = readInt(block, r, prefix);
    const name = index === 0 ? readString(block, r) : this.lookup(index)[0];
    return [name, readString(block, r)];
  }

  private insert(field: HeaderField): void {
    const size = entrySize(field);
    this.evictTo(this.limit - size);
    // An entry larger than the table empties it and is not added (RFC 7541 section 4.4).
    if (size <= this.limit) {
      this.table.unshift(field);
      this.size += size;
    }
  }

  private resize(size: number): void {
    this.limit = size;
    this.evictTo(size);
  }

  private evictTo(limit: number): void {
    while (this.size > Math.max(0, limit) && this.table.length > 0) this.size -= entrySize(this.table.pop()!);
  }
}

function readInt(block: Uint8Array, r: { pos: number }, prefix: number): number {
  const max = (1 << prefix) - 1;
  let value = block[r.pos++]! & max;
  if (value < max) return value;
  let shift = 0;
  for (;;) {
    if (r.pos >= block.length) throw malformed('truncated integer');
    const b = block[r.pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (value > 0xffffffff) throw malformed('integer too large');
    if (!(b & 0x80)) return value;
  }
}

function readString(block: Uint8Array, r: { pos: number }): string {
  if (r.pos >= block.length) throw malformed('truncated string');
  const huffman = (block[r.pos]! & 0x80) !== 0;
  const length = readInt(block, r, 7);
  if (r.pos + length > block.length) throw malformed('string longer than the block');
  const raw = block.subarray(r.pos, r.pos + length);
  r.pos += length;
  // latin1: header octets map one to one (values are not necessarily UTF-8).
  return (huffman ? huffmanDecode(raw) : Buffer.from(raw)).toString('latin1');
}

function writeInt(out: number[], value: number, prefix: number, flags: number): void {
  const max = (1 << prefix) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

function writeString(out: number[], s: string): void {
  const bytes = Buffer.from(s, 'latin1');
  writeInt(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

const staticNameIndex = new Map<string, number>();
STATIC_TABLE.forEach(([name], i) => {
  if (!staticNameIndex.has(name)) staticNameIndex.set(name, i + 1);
});

/** Encodes fields as literals without indexing (names from the static table where it has them). */
export function encodeLiterals(fields: readonly HeaderField[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const index = staticNameIndex.get(name);
    if (index !== undefined) writeInt(out, index, 4, 0x00);
    else {
      out.push(0x00);
      writeString(out, name);
    }
    writeString(out, value);
  }
  return Buffer.from(out);
}
