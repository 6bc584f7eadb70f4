import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryContentStore } from '../../../src/image/content-store.ts';
import { sha256Of } from '../../../src/oci/digest.ts';
import { BerthError } from '../../../src/oci/errors.ts';

function withStore(fn: (s: DirectoryContentStore, root: string) => Promise<void>) {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'berth-cs-'));
    try {
      await fn(new DirectoryContentStore(root), root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

async function collect(r: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('write, info, read, walk, delete', withStore(async (s) => {
  const data = Buffer.from('hello blob');
  const d = sha256Of(data);
  const info = await s.writeBlob(data);
  assert.equal(info.digest, d);
  assert.equal((await s.info(d))?.size, data.length);
  assert.deepEqual(await s.readBlob(d), data);
  assert.deepEqual(await collect(await s.reader(d)), data);
  const all = [];
  for await (const b of s.walk()) all.push(b.digest);
  assert.deepEqual(all, [d]);
  assert.equal(await s.delete(d), true);
  assert.equal(await s.info(d), undefined);
  await assert.rejects(s.readBlob(d), (e: unknown) => e instanceof BerthError && e.kind === 'not-found');
}));

test('a writer refuses to commit wrong content and leaves nothing in blobs/', withStore(async (s) => {
  const w = await s.writer('ref1');
  await w.write(Buffer.from('abc'));
  await assert.rejects(w.commit({ digest: sha256Of('abd'), size: 3 }), (e: unknown) => e instanceof BerthError && e.kind === 'data-loss');
  assert.equal(await s.info(sha256Of('abd')), undefined);
  assert.deepEqual(await s.ingests(), []);
  const w2 = await s.writer('ref2');
  await w2.write(Buffer.from('abc'));
  await assert.rejects(w2.commit({ digest: sha256Of('abc'), size: 4 }), /size mismatch/);
}));

test('an interrupted ingest resumes from its offset', withStore(async (s) => {
  const data = Buffer.from('0123456789'.repeat(1000));
  const d = sha256Of(data);
  const w = await s.writer('pull-x');
  await w.write(data.subarray(0, 4000));
  await w.close();
  assert.deepEqual((await s.ingests()).map((i) => [i.ref, i.offset]), [['pull-x', 4000]]);
  const w2 = await s.writer('pull-x');
  assert.equal(w2.offset, 4000);
  await w2.write(data.subarray(4000));
  await w2.commit({ digest: d, size: data.length });
  assert.deepEqual(await s.readBlob(d), data);
  assert.deepEqual(await s.ingests(), []);
}));

test('one writer per ingest at a time', withStore(async (s) => {
  const w = await s.writer('busy');
  await assert.rejects(s.writer('busy'), /already open/);
  await w.close();
  const again = await s.writer('busy');
  await again.close();
}));

test('a corrupted blob is detected on read, never served, and removed', withStore(async (s) => {
  const data = Buffer.from('x'.repeat(200000));
  const d = sha256Of(data);
  await s.writeBlob(data);
  const corrupt = Buffer.from(data);
  corrupt[100] = 0x79;
  writeFileSync(s.blobPath(d), corrupt);
  const r = await s.reader(d);
  const received: Buffer[] = [];
  await assert.rejects(async () => { for await (const c of r) received.push(c as Buffer); }, /digest mismatch/);
  assert.ok(Buffer.concat(received).length < data.length, 'the full corrupt content was never delivered');
  writeFileSync(s.blobPath(d), corrupt);
  await assert.rejects(s.readBlob(d), (e: unknown) => e instanceof BerthError && e.kind === 'data-loss');
  assert.equal(existsSync(s.blobPath(d)), false);
  await s.writeBlob(data);
  writeFileSync(s.blobPath(d), corrupt);
  await assert.rejects(s.verify(d), /corrupt/);
}));

test('readBlob bounds what it loads', withStore(async (s) => {
  const data = Buffer.alloc(5000);
  await s.writeBlob(data);
  await assert.rejects(s.readBlob(sha256Of(data), 100), (e: unknown) => e instanceof BerthError && e.kind === 'resource-exhausted');
}));

test('walk ignores foreign files', withStore(async (s, root) => {
  await s.writeBlob(Buffer.from('a'));
  writeFileSync(join(s.blobsDir, 'not-a-digest'), 'x');
  const all = [];
  for await (const b of s.walk()) all.push(b.digest);
  assert.equal(all.length, 1);
  assert.ok(readdirSync(join(root, 'content')).includes('blobs'));
}));
