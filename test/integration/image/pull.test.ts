// Pull from a real registry (Debian's docker-registry on 127.0.0.1), unpack into overlay
// snapshots, and check the merged tree: modes, owners, setuid, file capability, hardlink, symlink,
// whiteout, opaque directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, statSync, lstatSync, readFileSync, readlinkSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, skopeoCopy, type TestRegistry } from '../../fixtures/image/registry.ts';
import { buildImage, writeOciLayout, CAP_NET_BIND_SERVICE_EP } from '../../fixtures/image/test-image.ts';
import { ImageStore } from '../../../src/image/image-store.ts';
import { pullImage, type PullEvent } from '../../../src/image/pull.ts';
import { mountSnapshot, unmountSnapshot } from '../../../src/image/mount-snapshot.ts';
import { lgetxattr } from '../../../src/sys/xattr.ts';

let registry: TestRegistry;
let work: string;
const img = buildImage();

before(async () => {
  registry = await startRegistry();
  work = mkdtempSync(join(tmpdir(), 'berth-pull-'));
  writeOciLayout(img, join(work, 'layout'), 'v1');
  skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${registry.host}/test/busybox:v1`, ['--preserve-digests']);
});
after(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('pulls an image, unpacks it, and the merged rootfs is right', async () => {
  const store = ImageStore.open(join(work, 'root1'));
  try {
    const events: PullEvent[] = [];
    const res = await pullImage(store, `${registry.host}/test/busybox:v1`, { onEvent: (e) => events.push(e) });
    assert.equal(res.digest, img.manifestDigest);
    assert.equal(res.name, `${registry.host}/test/busybox:v1`);
    assert.equal(res.chainIds.length, 3);
    assert.ok(events.some((e) => e.type === 'layer' && e.phase === 'downloading'));
    assert.equal(events.filter((e) => e.type === 'layer' && e.phase === 'done').length, 3);
    assert.equal(store.records.get(res.name)?.digest, img.manifestDigest);

    const key = 'container-1';
    const spec = await store.snapshots.prepare(key, res.chainIds[2]);
    const target = join(work, 'rootfs');
    mkdirSync(target);
    mountSnapshot(spec, target);
    try {
      assert.equal(readFileSync(join(target, 'etc/motd'), 'utf8'), 'hello from layer 3\n');
      assert.equal(statSync(join(target, 'bin/suid')).mode & 0o7777, 0o4755);
      assert.equal(statSync(join(target, 'bin/sgid')).mode & 0o7777, 0o2750);
      assert.equal(statSync(join(target, 'bin/sgid')).gid, 50);
      assert.equal(statSync(join(target, 'tmp')).mode & 0o7777, 0o1777);
      assert.equal(statSync(join(target, 'home/app')).uid, 1000);
      assert.deepEqual(lgetxattr(join(target, 'bin/netcap'), 'security.capability'), CAP_NET_BIND_SERVICE_EP);
      assert.equal(statSync(join(target, 'bin/netcap')).ino, statSync(join(target, 'bin/netcap-link')).ino);
      assert.equal(readlinkSync(join(target, 'bin/sh')), 'busybox');
      assert.equal(readlinkSync(join(target, 'etc/motd-link')), '/etc/motd');
      assert.equal(existsSync(join(target, 'removeme')), false, 'whiteout hides the file');
      assert.equal(readFileSync(join(target, 'keep'), 'utf8'), 'kept');
      assert.deepEqual(readdirSync(join(target, 'data')), ['new'], 'opaque dir hides the lower files');
      assert.equal(statSync(join(target, 'etc/motd')).mtimeMs, 1700000002000);
      assert.equal(statSync(join(target, 'usr/local/share/deep/dir')).mode & 0o777, 0o700);
      assert.equal(lstatSync(join(target, 'bin/busybox')).size, statSync('/bin/busybox').size);
    } finally {
      unmountSnapshot(target);
    }
    await store.snapshots.remove(key);
  } finally {
    store.close();
  }
});

test('a second pull finds everything present', async () => {
  const store = ImageStore.open(join(work, 'root1'));
  try {
    const events: PullEvent[] = [];
    await pullImage(store, `${registry.host}/test/busybox:v1`, { onEvent: (e) => events.push(e) });
    assert.equal(events.filter((e) => e.type === 'layer' && e.phase === 'exists').length, 3);
    assert.equal(events.filter((e) => e.type === 'layer' && e.phase === 'downloading').length, 0);
  } finally {
    store.close();
  }
});
