// Pulls killed with SIGKILL mid-unpack (the registry, behind a fault proxy, stalls the layer after a
// few MiB so that the kill lands while the layer is being written): the next pull removes their
// extraction snapshots and leases, and `image prune` reports the bytes it actually freed. The store
// is a tmpfs of its own, so that statfs says exactly what was freed. Needs a built berth (bin/berth).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry, skopeoCopy, type TestRegistry } from '../../fixtures/image/registry.ts';
import { startFaultProxy, type FaultProxy } from '../../fixtures/image/fault-proxy.ts';
import { buildImage, writeOciLayout, type BuiltImage } from '../../fixtures/image/test-image.ts';
import { ImageStore } from '../../../src/image/image-store.ts';
import { pullImage } from '../../../src/image/pull.ts';
import { pruneImages } from '../../../src/image/image-remove.ts';
import { allocatedBytes } from '../../../src/image/free-space.ts';

const berthBin = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'bin/berth');
const MiB = 1024 * 1024;
const STALL_AFTER = 6 * MiB;

let work: string;
let mnt: string | undefined;
let registry: TestRegistry;
let proxy: FaultProxy;
// Random bytes do not compress: the stalled download has put about STALL_AFTER bytes on disk.
const killed: BuiltImage[] = Array.from({ length: 4 }, (_, i) =>
  buildImage({ layers: [[{ name: 'big.bin', type: 'file', data: randomBytes(16 * MiB), mtime: 1700000000 }]], cmd: [`/k${i}`] }));
const small = buildImage({ layers: [[{ name: 'hello', type: 'file', data: 'hello\n', mtime: 1700000000 }]], cmd: ['/hello'] });

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-killed-'));
  const dir = join(work, 'fs');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256m,mode=0700', `berth-test-killed-${process.pid}`, dir]);
  mnt = dir;
  registry = await startRegistry();
  for (const [name, img] of [...killed.map((img, i) => [`k${i}`, img] as const), ['small', small] as const]) {
    writeOciLayout(img, join(work, `${name}-layout`), 'v1');
    skopeoCopy(`oci:${join(work, `${name}-layout`)}:v1`, `docker://${registry.host}/test/${name}:v1`, ['--preserve-digests']);
  }
  proxy = await startFaultProxy(registry.url);
});
after(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (mnt) execFileSync('umount', ['-l', mnt]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const root = () => join(mnt!, 'store');
const used = (): number => {
  const s = statfsSync(mnt!);
  return (s.blocks - s.bfree) * s.bsize;
};

function inStore<T>(fn: (s: ImageStore) => T): T {
  const store = ImageStore.open(root());
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

const extractions = () => inStore((s) => s.snapshots.walk().filter((x) => x.key.startsWith('extract-')).map((x) => x.key));
const leases = () => inStore((s) => (s.db.prepare('SELECT count(*) AS n FROM leases').get() as { n: number }).n);

/** Starts `berth pull` of image i, waits until its layer is being written, and kills it. */
async function killMidUnpack(i: number): Promise<void> {
  proxy.addRule({ path: new RegExp(`/blobs/${killed[i]!.layers[0]!.descriptor.digest}$`), fault: { kind: 'stall', afterBytes: STALL_AFTER }, times: 1 });
  const child = spawn(berthBin, ['--root', root(), '--config', join(work, 'config'), 'pull', '-q', `${proxy.host}/test/k${i}:v1`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
  try {
    const deadline = Date.now() + 20_000;
    // Written into this pull's extraction snapshot: the layer is half unpacked.
    const unpacked = () => inStore((s) => s.snapshots.walk().filter((x) => x.key.startsWith('extract-') && !done.has(x.key)).reduce((a, x) => a + allocatedBytes(join(s.snapshots.snapshotsDir, String(x.id))), 0));
    while (unpacked() < STALL_AFTER / 2) {
      if (child.exitCode !== null) assert.fail(`berth pull exited early (${child.exitCode}): ${stderr}`);
      if (Date.now() > deadline) assert.fail('the pull never got to unpacking');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(await exited, 'SIGKILL');
  for (const k of extractions()) done.add(k);
}
const done = new Set<string>();

test('pulls killed mid-unpack: each next pull removes the extraction snapshot and lease the last one left', async () => {
  let snapshotBytes = 0;
  for (const i of [0, 1, 2]) {
    await killMidUnpack(i);
    assert.equal(extractions().length, 1, `after kill ${i + 1}: only the last killed pull's extraction is left`);
    assert.equal(leases(), 1, `after kill ${i + 1}: only the last killed pull's lease is left`);
    snapshotBytes = inStore((s) => allocatedBytes(s.snapshots.snapshotsDir));
    assert.ok(snapshotBytes >= STALL_AFTER / 2 && snapshotBytes < 2 * STALL_AFTER, `${snapshotBytes} bytes in snapshots: killed pulls do not pile up`);
  }
  const before = used();
  const store = ImageStore.open(root());
  try {
    const r = await pullImage(store, `${proxy.host}/test/small:v1`, { dockerConfig: null });
    assert.equal(r.digest, small.manifestDigest);
  } finally {
    store.close();
  }
  assert.deepEqual(extractions(), []);
  assert.equal(leases(), 0, "the dead pull's lease is gone, and the pull released its own");
  const freed = before - used();
  assert.ok(freed >= snapshotBytes - MiB, `the next pull freed ${freed} bytes of the ${snapshotBytes} the killed one left`);
});

test('image prune after a killed pull reports the bytes it freed, as statfs counts them', async () => {
  await killMidUnpack(3);
  assert.equal(extractions().length, 1);
  const before = used();
  const store = ImageStore.open(root());
  let reported: number;
  try {
    const r = await pruneImages(store);
    reported = r.bytesFreed;
    assert.equal(r.snapshotsRemoved, 1, 'the killed pull\'s extraction');
  } finally {
    store.close();
  }
  const freed = before - used();
  // Four partial downloads (kept for a resume until pruned) and one half-unpacked layer.
  assert.ok(freed > 4 * STALL_AFTER, `statfs: ${freed} bytes freed`);
  assert.ok(Math.abs(reported - freed) <= 256 * 1024, `prune reported ${reported} bytes freed, statfs says ${freed}`);
  assert.deepEqual(extractions(), []);
  assert.equal(leases(), 0);
});
