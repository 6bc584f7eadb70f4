// Layers unpacked on worker threads (src/image/unpack-pool.ts): the same trees as on the calling
// thread, errors from either side of the thread boundary, and nothing left writing or open after
// a failure (the caller removes the directory next).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tarArchive } from '../../../src/image/tar-writer.ts';
import { unpackLayer } from '../../../src/image/unpack-layer.ts';
import { createLayerUnpacker } from '../../../src/image/unpack-pool.ts';
import { ensureSnapshots, type LayerJob } from '../../../src/image/unpack-image.ts';
import { ImageStore } from '../../../src/image/image-store.ts';
import { MediaType } from '../../../src/oci/image-spec.ts';
import { sha256Of } from '../../../src/oci/digest.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import { listTree } from '../../support/tree.ts';

const work = mkdtempSync(join(tmpdir(), 'berth-pool-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function* chunks(b: Buffer, size = 4096): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

function tree(dir: string): string[] {
  return listTree(dir, (rel, p, st) => {
    const what = st.isFile() ? sha256Of(readFileSync(p)) : st.isSymbolicLink() ? readlinkSync(p) : '';
    return `${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${what}`;
  });
}

/** Descriptors of this process open on something under `dir` (the workers are threads of it). */
function openUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

function layer(n: number, files: number): Buffer {
  const entries = [{ name: `l${n}/`, type: 'dir' as const, mode: 0o755, mtime: 1650000000 }];
  for (let i = 0; i < files; i++) {
    entries.push({ name: `l${n}/f${i}`, type: 'file' as const, mode: i % 2 ? 0o600 : 0o4755, uid: i % 3, gid: i % 5, mtime: 1650000000 + i, data: `${n}:${i}:`.repeat(i * 7) } as never);
  }
  return tarArchive(entries);
}

test('eight layers on two threads give the trees the calling thread gives', async () => {
  const pool = createLayerUnpacker(8, { BERTH_UNPACK_THREADS: '2' });
  try {
    const layers = Array.from({ length: 8 }, (_, n) => layer(n, 150 + n * 20));
    await Promise.all(
      layers.map(async (tar, n) => {
        const [a, b] = [join(work, `same-thread-${n}`), join(work, `worker-${n}`)];
        mkdirSync(a);
        mkdirSync(b);
        const progress: number[] = [];
        const [ra, rb] = await Promise.all([
          unpackLayer(chunks(gzipSync(tar)), { dir: a, compression: 'gzip', diffId: sha256Of(tar), what: `layer ${n}` }),
          pool.unpack(chunks(gzipSync(tar)), { dir: b, compression: 'gzip', diffId: sha256Of(tar), what: `layer ${n}`, onBytes: (x) => progress.push(x) }),
        ]);
        assert.deepEqual(rb, ra);
        assert.deepEqual(tree(b), tree(a));
        assert.ok(progress.length > 0 && progress.every((x, i) => i === 0 || x >= progress[i - 1]!), 'progress only grows');
      }),
    );
  } finally {
    await pool.close();
  }
});

test('a failing source stops the worker before the error reaches the caller', async () => {
  const pool = createLayerUnpacker(1, { BERTH_UNPACK_THREADS: '1' });
  try {
    const dir = join(work, 'source-fails');
    mkdirSync(dir);
    const gz = gzipSync(layer(0, 2000));
    const down = new Error('connection reset by the registry');
    async function* failing(): AsyncGenerator<Buffer> {
      yield* chunks(gz.subarray(0, gz.length >> 1));
      throw down;
    }
    await assert.rejects(pool.unpack(failing(), { dir, compression: 'gzip', what: 'layer S' }), (e: unknown) => e === down);
    assert.deepEqual(openUnder(dir), [], 'no descriptor left open in the snapshot');
    const files = tree(dir).length;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(tree(dir).length, files, 'nothing written after the failure was reported');
    // The same worker goes on with the next layer.
    const next = join(work, 'after-failure');
    mkdirSync(next);
    const r = await pool.unpack(chunks(gzipSync(layer(1, 3))), { dir: next, compression: 'gzip', what: 'layer N' });
    assert.equal(r.entries, 4);
  } finally {
    await pool.close();
  }
});

test('a bad layer fails in the worker with its error, and the source is not read to the end', async () => {
  const pool = createLayerUnpacker(1, { BERTH_UNPACK_THREADS: '1' });
  try {
    const dir = join(work, 'bad-layer');
    mkdirSync(dir);
    const tar = Buffer.concat([tarArchive([{ name: '../escape', type: 'file', data: 'x' }]), Buffer.alloc(64 << 20)]);
    let read = 0;
    let closed = false;
    async function* source(): AsyncGenerator<Buffer> {
      try {
        for (let i = 0; i < tar.length; i += 65536) {
          read += 65536;
          yield tar.subarray(i, i + 65536);
        }
      } finally {
        closed = true;
      }
    }
    await assert.rejects(pool.unpack(source(), { dir, compression: 'none', what: 'layer B' }), (e: unknown) => {
      assert.ok(e instanceof BerthError, String(e));
      assert.equal(e.kind, 'invalid-argument');
      assert.match(e.message, /^layer B: .*"\.\.\/escape".*"\.\."/);
      assert.equal(e.where.field, '../escape');
      return true;
    });
    assert.ok(closed, 'the source was closed');
    assert.ok(read < 32 << 20, `read ${read} bytes of a layer that failed at its first entry`);
    assert.deepEqual(openUnder(dir), []);
  } finally {
    await pool.close();
  }
});

test('BERTH_UNPACK_THREADS is checked; 0 unpacks on the calling thread', async () => {
  assert.throws(() => createLayerUnpacker(2, { BERTH_UNPACK_THREADS: 'two' }), (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument' && /BERTH_UNPACK_THREADS="two"/.test(e.message));
  const inline = createLayerUnpacker(2, { BERTH_UNPACK_THREADS: '0' });
  assert.equal(inline.unpack, unpackLayer);
  await inline.close();
});

test('a later layer failing while an earlier one still unpacks is reported, and nothing is left', async () => {
  const store = ImageStore.open(join(work, 'store'));
  try {
    const tars = [layer(0, 400), layer(1, 3), layer(2, 3)];
    const jobs: LayerJob[] = tars.map((t) => {
      const gz = gzipSync(t);
      return { descriptor: { mediaType: MediaType.ociLayerGzip, digest: sha256Of(gz), size: gz.length }, diffId: sha256Of(t) };
    });
    const broken = new BerthError('unavailable', 'registry went away during layer 1', { op: 'fetch' });
    let releaseFirst!: () => void;
    const firstMayEnd = new Promise<void>((r) => (releaseFirst = r));
    const source = async (_job: LayerJob, i: number) => ({
      stream: (async function* () {
        const gz = gzipSync(tars[i]!);
        if (i === 1) {
          yield gz.subarray(0, 100);
          throw broken;
        }
        yield gz.subarray(0, gz.length >> 1);
        if (i === 0) await firstMayEnd; // layer 0 is still running when layer 1 fails
        yield gz.subarray(gz.length >> 1);
      })(),
    });
    const pulled = ensureSnapshots(store, jobs, { source, concurrency: 3 });
    setTimeout(releaseFirst, 200);
    await assert.rejects(pulled, (e: unknown) => e === broken);
    assert.deepEqual(readdirSync(join(work, 'store', 'snapshots')), [], 'no snapshot is left');
  } finally {
    store.close();
  }
});
