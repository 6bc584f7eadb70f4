// berth against real peers: skopeo pushes, berth pulls; berth pushes, skopeo inspects and copies
// back with identical digests; umoci unpack and berth's overlay rootfs give the same tree.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, skopeoCopy, type TestRegistry } from '../../fixtures/image/registry.ts';
import { buildImage, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { ImageStore } from '../../../src/image/image-store.ts';
import { pullImage } from '../../../src/image/pull.ts';
import { pushImage } from '../../../src/image/push.ts';
import { prepareRootfs } from '../../../src/image/prepare-rootfs.ts';
import { mountSnapshot, unmountSnapshot } from '../../../src/image/mount-snapshot.ts';
import { llistxattr, lgetxattr } from '../../../src/sys/xattr.ts';
import { listTree } from '../../support/tree.ts';

let registry: TestRegistry;
let work: string;
const img = buildImage();

before(async () => {
  registry = await startRegistry();
  work = mkdtempSync(join(tmpdir(), 'berth-interop-'));
  writeOciLayout(img, join(work, 'layout'), 'v1');
  skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${registry.host}/interop/src:v1`, ['--preserve-digests']);
});
after(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function skopeoInspect(ref: string): { Digest: string; Layers: string[] } {
  return JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', ref], { encoding: 'utf8' })) as { Digest: string; Layers: string[] };
}

test('skopeo -> registry -> berth pull -> berth push -> skopeo inspect/copy: same digests', async () => {
  const store = ImageStore.open(join(work, 'root'));
  try {
    const pulled = await pullImage(store, `${registry.host}/interop/src:v1`);
    assert.equal(pulled.digest, img.manifestDigest);
    store.records.put({ name: `${registry.host}/interop/dst:v2`, digest: pulled.digest, mediaType: store.records.get(pulled.name)!.mediaType, size: img.manifestBytes.length });
    const pushed = await pushImage(store, `${registry.host}/interop/dst:v2`, undefined, { monolithicUploadMax: 1, chunkSize: 300_000 });
    assert.equal(pushed.digest, img.manifestDigest);
    // A fresh repository on another path: no mount source for it, so blobs are uploaded in chunks.
    await pushImage(store, `${registry.host}/interop/dst:v2`, `${registry.host}/fresh/upload:v3`, { monolithicUploadMax: 1, chunkSize: 300_000 });
    const info = skopeoInspect(`docker://${registry.host}/fresh/upload:v3`);
    assert.equal(info.Digest, img.manifestDigest);
    assert.deepEqual(info.Layers, img.layers.map((l) => l.descriptor.digest));
    skopeoCopy(`docker://${registry.host}/interop/dst:v2`, `oci:${join(work, 'back')}:v2`, ['--preserve-digests']);
    const index = JSON.parse(readFileSync(join(work, 'back', 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    assert.equal(index.manifests[0]!.digest, img.manifestDigest);
  } finally {
    store.close();
  }
});

// Directories a layer creates implicitly (no entry of their own) get the time of the unpack.
const mtime = (ms: number): string => (Date.now() - ms < 3600_000 ? 'unpack-time' : String(Math.floor(ms / 1000)));

function describeTree(dir: string): string[] {
  return listTree(dir, (rel, p, st) => {
    const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? `l->${readlinkSync(p)}` : st.isFile() ? `f:${st.size}` : 'o';
    const caps = lgetxattr(p, 'security.capability');
    return `${rel} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}${st.isSymbolicLink() ? '' : ` ${mtime(st.mtimeMs)}`}${caps ? ` cap=${caps.toString('hex')}` : ''}`;
  });
}

test('umoci unpack and berth rootfs give the same tree', async () => {
  const bundle = join(work, 'umoci-bundle');
  execFileSync('umoci', ['unpack', '--image', `${join(work, 'layout')}:v1`, bundle], { stdio: ['ignore', 'ignore', 'pipe'] });
  const store = ImageStore.open(join(work, 'root'));
  const target = join(work, 'berth-rootfs');
  mkdirSync(target);
  try {
    const prepared = await prepareRootfs(store, `${registry.host}/interop/src:v1`, { key: 'interop-container' });
    await mountSnapshot(prepared.mount, target);
    try {
      const ours = describeTree(target);
      const theirs = describeTree(join(bundle, 'rootfs'));
      assert.deepEqual(ours, theirs);
      assert.ok(ours.some((l) => l.startsWith('bin/netcap ') && l.includes('cap=')));
      assert.deepEqual(llistxattr(join(target, 'data')).filter((x) => x.startsWith('user.')), []);
    } finally {
      unmountSnapshot(target);
    }
    await store.snapshots.remove('interop-container');
  } finally {
    store.close();
  }
});
