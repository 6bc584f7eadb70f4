import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTar, type TarEntry } from '../../../src/image/tar-reader.ts';
import { tarArchive, tarHeader } from '../../../src/image/tar-writer.ts';
import { encodePaxRecord, parsePaxRecords, type TarHeader } from '../../../src/image/tar-format.ts';
import { BerthError } from '../../../src/oci/errors.ts';

async function* chunked(buf: Buffer, size = 37): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function readAll(buf: Buffer, chunk = 37): Promise<Array<{ h: TarHeader; data: Buffer }>> {
  const out = [];
  for await (const e of readTar(chunked(buf, chunk)) as AsyncGenerator<TarEntry>) {
    const parts: Buffer[] = [];
    for await (const c of e.body()) parts.push(c);
    out.push({ h: e.header, data: Buffer.concat(parts) });
  }
  return out;
}

const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);

test('round-trips every entry type, long names and binary xattrs', async () => {
  const long = 'd/' + 'x'.repeat(120) + '/' + 'y'.repeat(150);
  const archive = tarArchive([
    { name: 'dir', type: 'dir', mode: 0o1777, mtime: 1700000000 },
    { name: 'dir/file', type: 'file', mode: 0o4755, uid: 1000, gid: 2000, data: 'hello', mtime: 1700000001, xattrs: { 'security.capability': cap, 'user.k': Buffer.from('v') } },
    { name: 'dir/link', type: 'hardlink', linkname: 'dir/file' },
    { name: 'dir/sym', type: 'symlink', linkname: '../' + 'z'.repeat(200) },
    { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
    { name: 'fifo', type: 'fifo' },
    { name: long, type: 'file', data: Buffer.alloc(1000, 7), uid: 3000000 },
    { name: 'ünïcode', type: 'file', data: '' },
  ]);
  const entries = await readAll(archive);
  assert.deepEqual(entries.map((e) => e.h.name), ['dir/', 'dir/file', 'dir/link', 'dir/sym', 'dev/null', 'dev/sda', 'fifo', long, 'ünïcode']);
  const f = entries[1]!;
  assert.equal(f.h.mode, 0o4755);
  assert.equal(f.h.uid, 1000);
  assert.equal(f.data.toString(), 'hello');
  assert.deepEqual(f.h.xattrs.get('security.capability'), cap);
  assert.equal(entries[0]!.h.mode, 0o1777);
  assert.equal(entries[2]!.h.type, 'hardlink');
  assert.equal(entries[3]!.h.linkname.length, 203);
  assert.equal(entries[4]!.h.devminor, 3);
  assert.equal(entries[7]!.data.length, 1000);
  assert.equal(entries[7]!.h.uid, 3000000);
});

test('malformed archives fail with clear errors', async () => {
  const good = tarArchive([{ name: 'a', type: 'file', data: 'x'.repeat(600) }]);
  const badSum = Buffer.from(good);
  badSum[0] = 0x62;
  await assert.rejects(readAll(badSum), /checksum mismatch/);
  await assert.rejects(readAll(good.subarray(0, 700)), (e: unknown) => e instanceof BerthError && e.kind === 'data-loss' && /truncated entry a/.test(e.message));
  await assert.rejects(readAll(good.subarray(0, 300)), /truncated header/);
  await assert.rejects(readAll(Buffer.alloc(0)), /empty archive/);
  const huge = Buffer.concat([tarHeader({ name: 'p', type: 'file', size: 5 << 20 }), Buffer.alloc(1024)]);
  huge[156] = 'x'.charCodeAt(0);
  huge.write('        ', 148, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += huge[i]!;
  huge.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  await assert.rejects(readAll(huge), (e: unknown) => e instanceof BerthError && e.kind === 'resource-exhausted');
});

test('pax records parse raw bytes', () => {
  const rec = Buffer.concat([encodePaxRecord('SCHILY.xattr.security.capability', cap), encodePaxRecord('path', Buffer.from('a/b'))]);
  const m = parsePaxRecords(rec, 'x');
  assert.deepEqual(m.get('SCHILY.xattr.security.capability'), cap);
  assert.equal(m.get('path')?.toString(), 'a/b');
  assert.throws(() => parsePaxRecords(Buffer.from('99 path=x\n'), 'x'), /malformed/);
  for (const len of [5, 99, 100, 998, 999, 1000]) {
    const r = encodePaxRecord('k', Buffer.alloc(len, 0x61));
    assert.equal(Number(r.toString('latin1').split(' ')[0]), r.length);
  }
});
