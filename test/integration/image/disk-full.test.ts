// A store on a small tmpfs of its own (unmounted afterwards, even when a test fails): a layer that
// decompresses to 8x the filesystem stops while the store still has room, with `no space left on
// device` naming the layer and nothing of it left behind; and with the disk filled to the brim by
// another file, `images`, `inspect`, `rmi` and `image prune` still work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berth } from '../../fixtures/image/cli-run.ts';
import { buildImage } from '../../fixtures/image/test-image.ts';
import { archive, directoryArchive, ociLayoutEntries, writeZeroBombLayout } from '../../fixtures/image/malicious-archives.ts';
import { ImageStore } from '../../../src/image/image-store.ts';

const FS_MIB = 64;
let work: string;
let mnt: string | undefined;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-diskfull-'));
  const dir = join(work, 'fs');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FS_MIB}m,mode=0700`, `berth-test-diskfull-${process.pid}`, dir]);
  mnt = dir;
});
after(() => {
  if (mnt) execFileSync('umount', ['-l', mnt]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const freeBytes = (): number => {
  const s = statfsSync(mnt!);
  return s.bavail * s.bsize;
};

function storeState(root: string): { images: string[]; snapshots: string[]; snapshotDirs: string[]; blobs: string[] } {
  const store = ImageStore.open(root);
  try {
    const dir = (p: string) => (existsSync(p) ? readdirSync(p) : []);
    return {
      images: store.records.list().map((r) => r.name),
      snapshots: store.snapshots.walk().map((s) => s.key),
      snapshotDirs: dir(join(root, 'snapshots')),
      blobs: dir(join(root, 'content', 'blobs', 'sha256')),
    };
  } finally {
    store.close();
  }
}

/** Fills the filesystem to the last block; returns the file (remove it to free the space). */
function fillToTheBrim(): string {
  const path = join(mnt!, 'filler');
  const fd = openSync(path, 'w');
  try {
    for (const size of [1 << 20, 4096, 512, 1]) {
      const b = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, b);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  assert.equal(freeBytes(), 0, 'the filesystem is full');
  return path;
}

test(`a gzip layer of well under 1 MiB that unpacks to ${8 * FS_MIB} MiB: stopped before the disk is full, nothing left`, async () => {
  const layout = join(work, 'bomb-layout');
  const { layerDigest, layerSize } = await writeZeroBombLayout(layout, 8 * FS_MIB * 1024 * 1024);
  assert.ok(layerSize < 1024 * 1024, `the bomb weighs ${layerSize} bytes`);
  const tar = join(work, 'bomb.tar');
  writeFileSync(tar, directoryArchive(layout));
  const root = join(mnt!, 'store');
  const G = ['--root', root];
  const before = freeBytes();
  for (const input of [layout, tar]) {
    const r = await berth([...G, 'load', '-i', input]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^berth: layer ${layerDigest}: layer entry "zeros": no space left on device \\(stopped with [0-9.]+ MiB free, below the 8 MiB kept free for the store\\) \\(ENOSPC\\)\\n$`));
    assert.deepEqual(storeState(root), { images: [], snapshots: [], snapshotDirs: [], blobs: [] }, 'no partial snapshot, no name, no blob');
    assert.ok(freeBytes() > before - 2 * 1024 * 1024, `${before - freeBytes()} bytes still used after the failed load`);
    assert.deepEqual(existsSync(join(root, 'tmp')) ? readdirSync(join(root, 'tmp')) : [], [], 'no staged archive left');
  }
});

for (const journal of ['kept', 'gone'] as const) test(`with the disk filled to the brim by another file: images, inspect, rmi and image prune work (database journal ${journal})`, async () => {
  const root = join(mnt!, `store-full-${journal}`);
  const G = ['--root', root];
  const imgs = ['one', 'two'].map((n) => buildImage({ layers: [[{ name: n, type: 'file', data: Buffer.alloc(2 * 1024 * 1024, n), mtime: 1700000000 }]], cmd: [`/${n}`] }));
  for (const [i, img] of imgs.entries()) {
    const file = join(work, `img${i}.tar`);
    writeFileSync(file, archive(ociLayoutEntries([{ img, name: `docker.io/full/img${i}:1` }])));
    const r = await berth([...G, 'load', '-i', file]);
    assert.equal(r.code, 0, r.stderr);
  }
  // The persisted journal usually has room for a removal. A store without one (an earlier berth
  // kept it in WAL mode) must create it, on a full disk, from the space berth keeps in reserve.
  if (journal === 'gone') rmSync(join(root, 'metadata.db-journal'));
  const filler = fillToTheBrim();
  try {
    let r = await berth([...G, 'images', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as Array<{ name: string }>).map((i) => i.name), ['docker.io/full/img0:1', 'docker.io/full/img1:1']);
    r = await berth([...G, 'inspect', 'full/img0:1']);
    assert.equal(r.code, 0, r.stderr);
    r = await berth([...G, 'rmi', 'full/img0:1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Untagged: full\/img0:1\nDeleted 3 blobs and 1 snapshots \(\d/);
    r = await berth([...G, 'image', 'prune', '--all']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Untagged: full\/img1:1\nDeleted 3 blobs and 1 snapshots\nTotal reclaimed space: [1-9]/);
    r = await berth([...G, 'images', '--format', 'json']);
    assert.deepEqual(JSON.parse(r.stdout), []);
    assert.deepEqual(storeState(root), { images: [], snapshots: [], snapshotDirs: [], blobs: [] });
  } finally {
    rmSync(filler, { force: true });
    rmSync(root, { recursive: true, force: true });
  }
});
