// HPACK decoding against RFC 7541's own examples (C.4 requests, C.6 responses with evictions),
// and the :authority rewrite of an HTTP/2 byte stream, frame by frame and split at every byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, encodeLiterals, type HeaderField } from '../../../src/cri/server/hpack.ts';
import { huffmanCode, huffmanDecode } from '../../../src/cri/server/hpack-huffman.ts';
import { RequestHeaderRewriter, fixAuthority, frameHeaderBlock, validAuthority } from '../../../src/cri/server/authority-rewrite.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('RFC 7541 C.4: requests with Huffman strings share the dynamic table', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']]);
  assert.deepEqual(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf')), [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']]);
  assert.deepEqual(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), [
    [':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value'],
  ]);
});

test('RFC 7541 C.6: responses in a 256-byte table evict the oldest entries', () => {
  const d = new HpackDecoder(256);
  const first = d.decode(hex('4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3'));
  assert.deepEqual(first, [[':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']]);
  // :status 307 evicts :status 302; the indices still find the others.
  assert.deepEqual(d.decode(hex('4883 640e ffc1 c0bf')), [[':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']]);
  const third = d.decode(hex('88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07'));
  assert.deepEqual(third.at(-1), ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1']);
  assert.deepEqual(third[1], ['cache-control', 'private']);
});

test('Huffman: every byte value round-trips; bad padding and EOS are refused', () => {
  // Encode with the table, decode with the decoder.
  const encode = (bytes: number[]): Buffer => {
    let acc = 0n;
    let bits = 0n;
    for (const b of bytes) {
      const [code, len] = huffmanCode(b);
      acc = (acc << BigInt(len)) | BigInt(code);
      bits += BigInt(len);
    }
    const pad = (8n - (bits % 8n)) % 8n;
    acc = (acc << pad) | ((1n << pad) - 1n);
    const out = Buffer.alloc(Number((bits + pad) / 8n));
    for (let i = out.length - 1; i >= 0; i--, acc >>= 8n) out[i] = Number(acc & 0xffn);
    return out;
  };
  const all = Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual([...huffmanDecode(encode(all))], all);
  assert.equal(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff')).toString(), 'www.example.com');
  assert.throws(() => huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4fe')), /padding/);
  assert.throws(() => huffmanDecode(hex('ffff ffff')), /EOS|invalid|padding/);
});

test('the decoder refuses what no encoder may send', () => {
  assert.throws(() => new HpackDecoder().decode(hex('80')), /index 0/);
  assert.throws(() => new HpackDecoder().decode(hex('be')), /beyond the dynamic table/);
  assert.throws(() => new HpackDecoder().decode(hex('3fe21f')), /table size/);
  assert.throws(() => new HpackDecoder().decode(hex('82 20')), /size update after a header field/);
  assert.throws(() => new HpackDecoder().decode(hex('41 0a 61')), /string longer than the block/);
});

test('literals re-encode to the same fields, with no dynamic table for the reader', () => {
  const fields: HeaderField[] = [[':method', 'POST'], [':path', '/runtime.v1.RuntimeService/Version'], [':authority', 'localhost'], ['content-type', 'application/grpc'], ['x-custom', 'v'.repeat(300)]];
  const block = encodeLiterals(fields);
  const reader = new HpackDecoder();
  assert.deepEqual(reader.decode(block), fields);
  assert.deepEqual(reader.decode(block), fields, 'nothing was indexed');
});

test('an authority that is a socket path becomes localhost; valid ones stay', () => {
  assert.ok(validAuthority('localhost') && validAuthority('%2Frun%2Fberth%2Fberthd.sock') && validAuthority('[::1]:5000'));
  assert.ok(!validAuthority('/run/berth/berthd.sock') && !validAuthority(''));
  assert.deepEqual(fixAuthority([[':authority', '/run/berth/berthd.sock'], ['host', 'a b'], [':path', '/x']]), [[':authority', 'localhost'], ['host', 'localhost'], [':path', '/x']]);
  assert.deepEqual(fixAuthority([[':authority', 'localhost']]), [[':authority', 'localhost']]);
});

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
};

/** Splits a frame stream back into frames (type, flags, stream, payload). */
function frames(bytes: Buffer): Array<{ type: number; flags: number; stream: number; payload: Buffer }> {
  const out = [];
  for (let i = 0; i < bytes.length; ) {
    const len = bytes.readUIntBE(i, 3);
    out.push({ type: bytes[i + 3]!, flags: bytes[i + 4]!, stream: bytes.readUInt32BE(i + 5), payload: bytes.subarray(i + 9, i + 9 + len) });
    i += 9 + len;
  }
  return out;
}

test('the rewriter: preface and DATA untouched, header blocks (padded, with priority) decoded and fixed, at any chunking', () => {
  // What grpc-go sends: literal with incremental indexing for :authority (static name 1), then on
  // the next request the dynamic entry by index (62).
  const first = Buffer.concat([hex('83 86'), hex('44'), Buffer.from([0x0c]), Buffer.from('/x.Service/M'), hex('41'), Buffer.from([22]), Buffer.from('/run/berth/berthd.sock')]);
  const second = hex('83 86 be');
  const settings = frame(0x4, 0, 0, Buffer.alloc(0));
  const padded = Buffer.concat([Buffer.from([3]), first, Buffer.alloc(3)]);
  const data = frame(0x0, 0x1, 1, Buffer.from('grpc message bytes'));
  const secondWithPriority = Buffer.concat([hex('80000000 0f'), second]);
  const proper = Buffer.concat([PREFACE, settings, frame(0x1, 0x8 | 0x4, 1, padded), data, frame(0x1, 0x24 | 0x1, 3, secondWithPriority)]);
  for (const chunking of [proper.length, 1, 7, 64]) {
    const r = new RequestHeaderRewriter();
    const parts: Buffer[] = [];
    for (let i = 0; i < proper.length; i += chunking) parts.push(...r.push(proper.subarray(i, i + chunking)));
    const out = Buffer.concat(parts);
    assert.ok(out.subarray(0, PREFACE.length).equals(PREFACE));
    const f = frames(out.subarray(PREFACE.length));
    assert.deepEqual(f.map((x) => [x.type, x.flags, x.stream]), [[4, 0, 0], [1, 0x4, 1], [0, 1, 1], [1, 0x25, 3]], `chunks of ${chunking}`);
    const server = new HpackDecoder();
    assert.deepEqual(server.decode(f[1]!.payload), [[':method', 'POST'], [':scheme', 'http'], [':path', '/x.Service/M'], [':authority', 'localhost']]);
    assert.ok(f[2]!.payload.equals(Buffer.from('grpc message bytes')));
    assert.ok(f[3]!.payload.subarray(0, 5).equals(hex('80000000 0f')), 'priority kept');
    assert.deepEqual(server.decode(f[3]!.payload.subarray(5)), [[':method', 'POST'], [':scheme', 'http'], [':authority', 'localhost']]);
  }
});

test('the rewriter joins HEADERS and CONTINUATION frames into one block', () => {
  const block = Buffer.concat([hex('83 86 41'), Buffer.from([22]), Buffer.from('/run/berth/berthd.sock')]);
  const r = new RequestHeaderRewriter();
  const out = Buffer.concat(r.push(Buffer.concat([PREFACE, frame(0x1, 0x1, 1, block.subarray(0, 4)), frame(0x9, 0, 1, block.subarray(4, 9)), frame(0x9, 0x4, 1, block.subarray(9))])));
  const f = frames(out.subarray(PREFACE.length));
  assert.deepEqual(f.map((x) => [x.type, x.flags]), [[1, 0x5]]);
  assert.deepEqual(new HpackDecoder().decode(f[0]!.payload), [[':method', 'POST'], [':scheme', 'http'], [':authority', 'localhost']]);
});

test('the rewriter: a stream that is not HTTP/2 passes through; broken framing ends the connection', () => {
  const r = new RequestHeaderRewriter();
  assert.deepEqual(Buffer.concat(r.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toString(), 'GET / HTTP/1.1\r\n\r\n');
  const cont = new RequestHeaderRewriter();
  assert.throws(() => cont.push(Buffer.concat([PREFACE, frame(0x9, 0x4, 1, hex('82'))])), /CONTINUATION for stream 1 without a header block/);
  const inter = new RequestHeaderRewriter();
  assert.throws(() => inter.push(Buffer.concat([PREFACE, frame(0x1, 0, 1, hex('82')), frame(0x0, 0, 1, Buffer.from('x'))])), /inside the header block/);
  const hpack = new RequestHeaderRewriter();
  assert.throws(() => hpack.push(Buffer.concat([PREFACE, frame(0x1, 0x4, 1, hex('80'))])), /index 0/);
});

test('a large header block is framed within 16 KiB frames', () => {
  const block = Buffer.alloc(40_000, 0x82);
  const out = frames(Buffer.concat(frameHeaderBlock(5, 1, undefined, block)));
  assert.deepEqual(out.map((f) => [f.type, f.flags, f.payload.length]), [[1, 1, 16384], [9, 0, 16384], [9, 4, 40_000 - 32768]]);
});
