import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inflateSync, deflateSync, constants } from 'node:zlib';
import { SPDY3_DICTIONARY } from '../../../../src/cri/streaming/spdy-dictionary.ts';
import { FrameDecoder, encodeFrame, dataFrameHeader, type OutgoingFrame } from '../../../../src/cri/streaming/spdy-framer.ts';
import { HeaderCompressor, HeaderDecompressor } from '../../../../src/cri/streaming/spdy-header-compression.ts';
import { decodeHeaderBlock, encodeHeaderBlock } from '../../../../src/cri/streaming/spdy-header-block.ts';
import { SpdyProtocolError, type SpdyFrame } from '../../../../src/cri/streaming/spdy-frame.ts';

const fixture = readFileSync(new URL('../../../fixtures/spdy/go-frames.bin', import.meta.url));
const h = (o: Record<string, string[]>) => new Map(Object.entries(o));

// What the Go framer (moby/spdystream) wrote into the fixture, see test/fixtures/spdy/go-frames.go.
const goFrames: SpdyFrame[] = [
  { type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 0, fin: false, unidirectional: false, headers: h({ streamtype: ['error'] }) },
  { type: 'syn_stream', streamId: 3, associatedTo: 0, priority: 2, fin: false, unidirectional: false, headers: h({ streamtype: ['stdin'], port: ['8080'], requestid: ['0'] }) },
  { type: 'data', streamId: 3, fin: false, data: Buffer.from('hello\n') },
  { type: 'data', streamId: 3, fin: true, data: Buffer.alloc(0) },
  { type: 'ping', id: 1 },
  { type: 'settings', clear: false, entries: [{ flags: 1, id: 7, value: 65536 }] },
  { type: 'window_update', streamId: 1, delta: 1000 },
  { type: 'headers', streamId: 1, fin: false, headers: h({ 'x-many': ['a', 'b'] }) },
  { type: 'syn_stream', streamId: 5, associatedTo: 0, priority: 0, fin: true, unidirectional: false, headers: h({ streamtype: ['resize'] }) },
  { type: 'rst_stream', streamId: 5, status: 5 },
  { type: 'goaway', lastGoodStreamId: 0, status: 0 },
];

function sortedHeaders(f: SpdyFrame): unknown {
  return 'headers' in f ? { ...f, headers: [...f.headers].sort() } : f;
}

function decodeAll(chunks: Buffer[]): SpdyFrame[] {
  const d = new FrameDecoder(new HeaderDecompressor());
  return chunks.flatMap((c) => d.push(c));
}

test('the SPDY/3 dictionary is the 1423 bytes of the draft', () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.equal(createHash('sha256').update(SPDY3_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
});

test('frames written by the Go framer decode, whole or split at any byte', () => {
  assert.deepEqual(decodeAll([fixture]).map(sortedHeaders), goFrames.map(sortedHeaders));
  for (let cut = 1; cut < fixture.length; cut++) {
    const got = decodeAll([fixture.subarray(0, cut), fixture.subarray(cut)]);
    assert.equal(got.length, goFrames.length, `cut at ${cut}`);
  }
  const byteByByte = decodeAll([...fixture].map((b) => Buffer.from([b])));
  assert.deepEqual(byteByByte.map(sortedHeaders), goFrames.map(sortedHeaders));
});

test('several frames coalesced in one read all come out, a partial one waits', () => {
  const c = new HeaderCompressor();
  const frames: OutgoingFrame[] = [
    { type: 'ping', id: 7 },
    { type: 'data', streamId: 1, fin: false, data: Buffer.from('abc') },
    { type: 'syn_reply', streamId: 1, fin: false, headers: new Map() },
  ];
  const bytes = Buffer.concat(frames.map((f) => encodeFrame(f, c)));
  const again = Buffer.concat(frames.map((f) => encodeFrame(f, c)));
  const d = new FrameDecoder(new HeaderDecompressor());
  assert.equal(d.push(Buffer.concat([bytes, again.subarray(0, 5)])).length, 3);
  assert.equal(d.pending, 5);
  assert.deepEqual(d.push(again.subarray(5)).map((f) => f.type), ['ping', 'data', 'syn_reply']);
  assert.equal(d.pending, 0);
});

test('each frame type encodes and decodes to itself', () => {
  const frames: OutgoingFrame[] = [
    { type: 'syn_stream', streamId: 7, associatedTo: 3, priority: 5, fin: true, unidirectional: true, headers: h({ streamtype: ['data'], port: ['80'] }) },
    { type: 'syn_reply', streamId: 7, fin: true, headers: h({}) },
    { type: 'headers', streamId: 9, fin: false, headers: h({ a: ['1', '2'] }) },
    { type: 'rst_stream', streamId: 9, status: 3 },
    { type: 'settings', clear: true, entries: [{ id: 4, flags: 2, value: 100 }, { id: 7, flags: 0, value: 0xffffffff }] },
    { type: 'ping', id: 0xfffffffe },
    { type: 'goaway', lastGoodStreamId: 11, status: 2 },
    { type: 'window_update', streamId: 0, delta: 0x7fffffff },
    { type: 'data', streamId: 0x7fffffff, fin: true, data: Buffer.from('last') },
    { type: 'data', streamId: 1, fin: false, data: Buffer.alloc(70000, 7) },
  ];
  const c = new HeaderCompressor();
  const got = decodeAll(frames.map((f) => encodeFrame(f, c)));
  assert.deepEqual(got, frames);
});

test('fixed frames have the draft byte layouts', () => {
  const c = new HeaderCompressor();
  const hex = (f: OutgoingFrame) => encodeFrame(f, c).toString('hex');
  assert.equal(hex({ type: 'rst_stream', streamId: 5, status: 5 }), '80030003000000080000000500000005');
  assert.equal(hex({ type: 'ping', id: 1 }), '800300060000000400000001');
  assert.equal(hex({ type: 'goaway', lastGoodStreamId: 3, status: 0 }), '80030007000000080000000300000000');
  assert.equal(hex({ type: 'window_update', streamId: 1, delta: 1000 }), '800300090000000800000001000003e8');
  assert.equal(hex({ type: 'settings', clear: false, entries: [{ flags: 1, id: 7, value: 65536 }] }), '800300040000000c000000010100000700010000');
  assert.equal(hex({ type: 'data', streamId: 3, fin: true, data: Buffer.from('hi') }), '00000003010000026869');
  assert.equal(dataFrameHeader(3, false, 0x123456).toString('hex'), '0000000300123456');
  // SYN_REPLY: stream id, then the block: a zlib header naming the dictionary by its adler32.
  const reply = encodeFrame({ type: 'syn_reply', streamId: 1, fin: false, headers: new Map() }, new HeaderCompressor());
  assert.equal(reply.subarray(0, 4).toString('hex'), '80030002');
  assert.equal(reply.readUInt32BE(8), 1);
  const zhdr = reply.subarray(12, 18);
  assert.equal(zhdr[1]! & 0x20, 0x20, 'FDICT set');
  assert.equal(zhdr.readUInt32BE(2), 0xe3c6a7c2);
  assert.equal(reply.subarray(-4).toString('hex'), '0000ffff', 'ends on a sync flush');
});

test('adler32 of the dictionary is the id Go writes in its zlib header', async () => {
  const { adler32 } = await import('../../../../src/cri/streaming/spdy-header-compression.ts');
  assert.equal(adler32(SPDY3_DICTIONARY), 0xe3c6a7c2);
  assert.equal(fixture.readUInt32BE(20), 0xe3c6a7c2);
  assert.equal(adler32(Buffer.alloc(100000, 0xff)), 0x149a302c);
});

test('header blocks: the compressed stream carries over from frame to frame and any zlib reads it', () => {
  const c = new HeaderCompressor();
  const blocks = [h({ streamtype: ['stdout'] }), h({ streamtype: ['stderr'] }), h({ streamtype: ['stdout'], x: ['1'] })];
  const compressed = blocks.map((b) => c.compress(encodeHeaderBlock(b)));
  // Later blocks refer back to earlier ones: alone they do not decode, in sequence they do.
  assert.ok(compressed[2]!.length < compressed[0]!.length);
  const all = inflateSync(Buffer.concat(compressed), { dictionary: SPDY3_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH });
  assert.deepEqual(all, Buffer.concat(blocks.map(encodeHeaderBlock)));
  const d = new HeaderDecompressor();
  assert.deepEqual(compressed.map((x) => decodeHeaderBlock(d.decompress(x))), blocks);
});

test('header block encoding: lower-case names, NUL-joined values', () => {
  const block = encodeHeaderBlock(h({ StreamType: ['error'], many: ['a', 'b'] }));
  assert.equal(block.toString('hex'), '00000002' + '0000000a' + Buffer.from('streamtype').toString('hex') + '00000005' + Buffer.from('error').toString('hex')
    + '00000004' + Buffer.from('many').toString('hex') + '00000003' + Buffer.from('a\0b').toString('hex'));
  assert.deepEqual(decodeHeaderBlock(block), h({ streamtype: ['error'], many: ['a', 'b'] }));
});

test('malformed input is a protocol error', () => {
  const bad = (bytes: Buffer | string, re: RegExp) => {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'hex') : bytes;
    assert.throws(() => new FrameDecoder(new HeaderDecompressor()).push(buf), (e: unknown) => e instanceof SpdyProtocolError && re.test(e.message));
  };
  bad('0000000000000000', /data frame on stream 0/);
  bad('8002000600000004' + '00000001', /version 2/);
  bad('8003000300000004' + '00000001', /RST_STREAM frame of 4 bytes/);
  bad('8003000300000008' + '0000000000000005', /RST_STREAM frame on stream 0/);
  bad('800300020000000c' + '00000001' + '0102030405060708', /does not decompress/);
  // A block that decompresses but whose count promises more headers than it holds.
  const z = deflateSync(Buffer.from('00000002', 'hex'), { dictionary: SPDY3_DICTIONARY, flush: constants.Z_SYNC_FLUSH });
  const len = Buffer.alloc(4);
  len.writeUInt32BE(4 + z.length);
  bad(Buffer.concat([Buffer.from('80030002', 'hex'), len, Buffer.from('00000001', 'hex'), z]), /ends inside the length of a header name/);
  assert.throws(() => decodeHeaderBlock(Buffer.from('00000001000000000000000000', 'hex')), /empty header name/);
  assert.throws(() => decodeHeaderBlock(Buffer.from('0000000000', 'hex')), /1 bytes after/);
});

test('an unknown control frame type is passed up to be ignored', () => {
  assert.deepEqual(decodeAll([Buffer.from('8003000a0000000201ff', 'hex')]), [{ type: 'unknown', controlType: 10, flags: 0, payload: Buffer.from('01ff', 'hex') }]);
});
