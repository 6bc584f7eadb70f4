// unpackLayer with each compression, and the diff_id check.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
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
