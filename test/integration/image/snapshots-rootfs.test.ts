// Snapshots and rootfs preparation on the real kernel: a deep chain mounts through relative
// lowerdirs, prepareRootfs resolves the image user from the image's files, hostile passwd setups
// are refused, and GC keeps what images, containers and leases hold.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '../../../src/image/image-store.ts';
import { loadArchive } from '../../../src/image/archive-import.ts';
import { prepareRootfs } from '../../../src/image/prepare-rootfs.ts';
import { mountSnapshot, unmountSnapshot } from '../../../src/image/mount-snapshot.ts';
import { LayeredRootfs } from '../../../src/image/rootfs-view.ts';
import { resolveImageUser } from '../../../src/image/image-user.ts';
import { collectGarbage } from '../../../src/image/gc.ts';
import { createLease } from '../../../src/image/leases.ts';
import { removeImages } from '../../../src/image/image-remove.ts';
import { buildImage, testLayers, writeOciLayout, type Entry } from '../../fixtures/image/test-image.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import { sha256Of } from '../../../src/oci/digest.ts';

const work = mkdtempSync(join(tmpdir(), 'berth-snap-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('an image of 60 layers mounts through short relative lowerdirs', async () => {
  const layers: Entry[][] = [testLayers()[0]!];
  for (let i = 1; i < 60; i++) layers.push([{ name: `layer${i}`, type: 'file', data: String(i) }, { name: 'top', type: 'file', data: `top ${i}` }]);
  const img = buildImage({ layers, user: 'app' });
  writeOciLayout(img, join(work, 'deep-layout'), 'deep');
  const root = join(work, 'a-rather-long-storage-root-name-to-push-the-option-string-over-the-page-limit-' + 'x'.repeat(40));
  const store = ImageStore.open(root);
  try {
    const loaded = await loadArchive(store, join(work, 'deep-layout'));
    assert.equal(loaded.images.length, 1);
    const prepared = await prepareRootfs(store, loaded.images[0]!.name, { key: 'deep-c1' });
    assert.ok(prepared.mount.cwd, 'relative lowerdirs were needed');
    assert.deepEqual(prepared.user, { uid: 1000, gid: 1000, additionalGids: [50], username: 'app', home: '/home/app' });
    const target = join(work, 'deep-rootfs');
    mkdirSync(target);
    const cwd = process.cwd();
    await mountSnapshot(prepared.mount, target);
    assert.equal(process.cwd(), cwd, 'the working directory is restored after the mount');
    try {
      assert.equal(readFileSync(join(target, 'top'), 'utf8'), 'top 59');
      assert.equal(readFileSync(join(target, 'layer1'), 'utf8'), '1');
      writeFileSync(join(target, 'written'), 'upper');
    } finally {
      unmountSnapshot(target);
    }
    // GC keeps the container's chain even without the image name.
    await removeImages(store, [loaded.images[0]!.name], { force: true });
    const r = await collectGarbage(store);
    assert.equal(r.snapshotsRemoved, 0);
    await store.snapshots.remove('deep-c1');
    const r2 = await collectGarbage(store);
    assert.equal(r2.snapshotsRemoved, 60);
    assert.deepEqual(readdirSync(join(root, 'snapshots')), []);
  } finally {
    store.close();
  }
});

test('image files used for user lookup cannot reach the host or be unbounded', async () => {
  const dir = join(work, 'evil-rootfs');
  const mk = (p: string) => mkdirSync(join(dir, p), { recursive: true });
  mk('etc');
  const { symlinkSync } = await import('node:fs');
  symlinkSync('/etc/shadow', join(dir, 'etc', 'passwd'));
  const view = new LayeredRootfs([dir]);
  // An absolute symlink resolves inside the rootfs, where there is no shadow file.
  await assert.rejects(resolveImageUser(view, 'root'), /unable to find user root: the image has no \/etc\/passwd/);
  rmSync(join(dir, 'etc', 'passwd'));
  symlinkSync('../../../../../../etc/passwd', join(dir, 'etc', 'passwd'));
  await assert.rejects(resolveImageUser(view, 'root'), (e: unknown) => e instanceof BerthError && /leaves the image root/.test(e.message));
  rmSync(join(dir, 'etc', 'passwd'));
  writeFileSync(join(dir, 'etc', 'passwd'), 'x'.repeat(2 * 1024 * 1024));
  await assert.rejects(resolveImageUser(view, 'root'), (e: unknown) => e instanceof BerthError && e.kind === 'resource-exhausted');
  rmSync(join(dir, 'etc', 'passwd'));
  const { execFileSync } = await import('node:child_process');
  execFileSync('mkfifo', [join(dir, 'etc', 'passwd')]);
  await assert.rejects(resolveImageUser(view, 'root'), /not a regular file/);
  rmSync(join(dir, 'etc', 'passwd'));
  symlinkSync('/dev/zero', join(dir, 'etc', 'passwd'));
  await assert.rejects(resolveImageUser(view, 'root'), /no \/etc\/passwd/);
  assert.deepEqual(await resolveImageUser(view, '12:34'), { uid: 12, gid: 34, additionalGids: [] });
});

test('a lease protects a blob from GC until released', async () => {
  const store = ImageStore.open(join(work, 'lease-root'));
  try {
    const data = Buffer.from('leased blob');
    await store.content.writeBlob(data);
    const lease = createLease(store.db);
    lease.addBlob(sha256Of(data));
    assert.equal((await collectGarbage(store)).blobsRemoved, 0);
    lease.release();
    assert.equal((await collectGarbage(store)).blobsRemoved, 1);
    assert.equal(existsSync(store.content.blobPath(sha256Of(data))), false);
  } finally {
    store.close();
  }
});

test('GC removes an extraction snapshot a crashed pull left, and keeps a container snapshot', async () => {
  const store = ImageStore.open(join(work, 'crash-root'));
  try {
    await store.snapshots.prepare('extract-0000-left-by-a-crash');
    await store.snapshots.prepare('container-x');
    const r = await collectGarbage(store);
    assert.equal(r.snapshotsRemoved, 1);
    assert.deepEqual(store.snapshots.walk().map((s) => s.key), ['container-x']);
  } finally {
    store.close();
  }
});
