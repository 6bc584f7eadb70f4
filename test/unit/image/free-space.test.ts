// The free-space reserve policy (pure) and the JSON document cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reserveFor, reserveShortfall } from '../../../src/image/free-space.ts';
import { checkDocumentSize, parseJsonDocument, readDocument, readPrefix } from '../../../src/oci/json-document.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const MiB = 1024 * 1024;

test('the reserve: 2% of the filesystem within 8 MiB..512 MiB, at most an eighth of a small one', () => {
  assert.equal(reserveFor({ totalBytes: 400 * MiB, totalInodes: 100_000 }).minFreeBytes, 8 * MiB);
  assert.equal(reserveFor({ totalBytes: 10_000 * MiB, totalInodes: 0 }).minFreeBytes, 200 * MiB);
  assert.equal(reserveFor({ totalBytes: 100_000 * MiB, totalInodes: 0 }).minFreeBytes, 512 * MiB);
  assert.equal(reserveFor({ totalBytes: 4 * MiB, totalInodes: 0 }).minFreeBytes, 512 * 1024);
  const r = reserveFor({ totalBytes: 400 * MiB, totalInodes: 100_000 });
  assert.equal(r.minFreeInodes, 2000);
  // Checked often enough that three layers and a download writing at once stay above zero.
  assert.ok(4 * r.checkEveryBytes < r.minFreeBytes);
  assert.equal(reserveFor({ totalBytes: 400 * MiB, totalInodes: 0 }).minFreeInodes, 0, 'a filesystem that counts no inodes');
});

test('the shortfall names what is left and what is kept', () => {
  const r = reserveFor({ totalBytes: 400 * MiB, totalInodes: 100_000 });
  const fs = { totalBytes: 400 * MiB, totalInodes: 100_000, freeBytes: 100 * MiB, freeInodes: 50_000 };
  assert.equal(reserveShortfall(fs, r), undefined);
  assert.equal(reserveShortfall({ ...fs, freeBytes: 7.5 * MiB }, r), 'stopped with 7.5 MiB free, below the 8 MiB kept free for the store');
  assert.equal(reserveShortfall({ ...fs, freeInodes: 10 }, r), 'stopped with 10 inodes free, below the 2000 kept free for the store');
});

test('JSON documents: the cap is checked before decoding, and names the document', async () => {
  assert.throws(() => checkDocumentSize('index.json', 4 * MiB + 1), (e: unknown) => e instanceof BerthError && e.kind === 'resource-exhausted' && e.message === 'index.json is 4194305 bytes, more than the 4 MiB allowed for a JSON document');
  assert.doesNotThrow(() => checkDocumentSize('index.json', 4 * MiB));
  assert.deepEqual(parseJsonDocument('{"a":1}', 'x'), { a: 1 });
  assert.throws(() => parseJsonDocument('{', 'manifest.json'), /^BerthError: manifest\.json: not valid JSON/);
  assert.throws(() => parseJsonDocument(Buffer.alloc(4 * MiB + 1, 0x20), 'big'), /big is 4194305 bytes/);
  // A stream is read only up to the cap: the source is closed there.
  let pulled = 0;
  let closed = false;
  async function* endless(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        pulled++;
        yield Buffer.alloc(MiB);
      }
    } finally {
      closed = true;
    }
  }
  await assert.rejects(readDocument(endless(), 'token response'), /^BerthError: token response is larger than the 4 MiB allowed/);
  assert.equal(pulled, 5);
  assert.ok(closed);
  assert.equal((await readPrefix(endless(), 10)).length, 10);
});
