// unpackLayer with each compression, the diff_id check, and exact owners and modes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compress } from 'zstd-napi';
import { tarArchive } from '../../../src/image/tar-writer.ts';
import { unpackLayer } from '../../../src/image/unpack-layer.ts';
import { sha256Of } from '../../../src/oci/digest.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const work = mkdtempSync(join(tmpdir(), 'berth-unpack-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function* chunks(b: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += 1000) yield b.subarray(i, i + 1000);
}

const tar = Buffer.concat([tarArchive([{ name: 'a/b', type: 'file', data: 'x'.repeat(5000) }]), Buffer.alloc(10240 - 512 * 2)]);

for (const [name, blob] of [['none', tar], ['gzip', gzipSync(tar)], ['zstd', Buffer.from(compress(tar))]] as const) {
  test(`unpacks a ${name} layer and checks its diff_id (padding after the end marker included)`, async () => {
    const dir = join(work, name);
    mkdirSync(dir);
    const r = await unpackLayer(chunks(blob), { dir, compression: name, diffId: sha256Of(tar), what: `layer ${name}` });
    assert.equal(r.diffId, sha256Of(tar));
    assert.equal(r.uncompressedSize, tar.length);
    assert.equal(readFileSync(join(dir, 'a/b'), 'utf8').length, 5000);
  });
}

test('a wrong diff_id is data-loss', async () => {
  const dir = join(work, 'wrong');
  mkdirSync(dir);
  await assert.rejects(unpackLayer(chunks(gzipSync(tar)), { dir, compression: 'gzip', diffId: sha256Of('other'), what: 'layer L' }),
    (e: unknown) => e instanceof BerthError && e.kind === 'data-loss' && /layer L: uncompressed content hashes to/.test(e.message));
});

test('a truncated gzip stream is data-loss naming the layer', async () => {
  const dir = join(work, 'trunc');
  mkdirSync(dir);
  const gz = gzipSync(tar);
  await assert.rejects(unpackLayer(chunks(gz.subarray(0, gz.length - 30)), { dir, compression: 'gzip', what: 'layer T' }),
    (e: unknown) => e instanceof BerthError && e.kind === 'data-loss' && /^layer T: /.test(e.message));
});

test('owners, modes and times are exact, also where berth leaves out a chown or chmod that would change nothing', async () => {
  const dir = join(work, 'owners');
  mkdirSync(dir);
  const layer = tarArchive([
    { name: 'root-file', type: 'file', data: 'r', mode: 0o644, mtime: 1600000000 },
    { name: 'private', type: 'file', data: 'p', mode: 0o600 },
    { name: 'group-writable', type: 'file', data: 'g', mode: 0o664 }, // more than a 022 umask allows
    { name: 'setuid', type: 'file', data: 's', mode: 0o4755 },
    { name: 'user-file', type: 'file', data: 'u', mode: 0o640, uid: 1000, gid: 1001 },
    { name: 'user-link', type: 'symlink', linkname: 'user-file', uid: 1000, gid: 1001 },
    { name: 'root-link', type: 'symlink', linkname: 'root-file' },
    // New entries in a setgid directory get its group; the layer says root's group, so berth must chown.
    { name: 'shared', type: 'dir', mode: 0o2775, gid: 50 },
    { name: 'shared/f', type: 'file', data: 'x', mode: 0o644 },
    { name: 'shared/sub/g', type: 'file', data: 'y', mode: 0o644 }, // shared/sub made by berth, setgid as well
    { name: 'shared/l', type: 'symlink', linkname: 'f' },
    { name: 'shared/h', type: 'file', data: 'z', mode: 0o644, gid: 50 },
  ]);
  await unpackLayer(chunks(layer), { dir, compression: 'none', what: 'layer O' });
  const st = (p: string) => lstatSync(join(dir, p));
  const expect: Array<[string, number, number, number]> = [
    ['root-file', 0o100644, 0, 0],
    ['private', 0o100600, 0, 0],
    ['group-writable', 0o100664, 0, 0],
    ['setuid', 0o104755, 0, 0],
    ['user-file', 0o100640, 1000, 1001],
    ['shared', 0o42775, 0, 50],
    ['shared/f', 0o100644, 0, 0],
    ['shared/sub/g', 0o100644, 0, 0],
    ['shared/h', 0o100644, 0, 50],
  ];
  for (const [p, mode, uid, gid] of expect) {
    const s = st(p);
    assert.deepEqual([p, s.mode.toString(8), s.uid, s.gid], [p, mode.toString(8), uid, gid]);
  }
  assert.equal(st('shared/sub').gid, 50);
  for (const [p, uid, gid] of [['user-link', 1000, 1001], ['root-link', 0, 0], ['shared/l', 0, 0]] as const) {
    assert.deepEqual([p, st(p).uid, st(p).gid], [p, uid, gid]);
  }
  assert.equal(st('root-file').mtimeMs, 1600000000 * 1000);
});
