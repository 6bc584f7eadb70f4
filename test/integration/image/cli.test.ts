// The `berth` image commands end to end against real registries (one open, one with htpasswd
// basic auth), including the bad-input cases: each is one clear line, the right exit code, and
// nothing half-written in the store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, existsSync, writeFileSync, readFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, skopeoCopy, pushRaw, freePort, type TestRegistry } from '../../fixtures/image/registry.ts';
import { buildImage, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { berth } from '../../fixtures/image/cli-run.ts';
import { MediaType } from '../../../src/oci/image-spec.ts';

let open: TestRegistry;
let authed: TestRegistry;
let work: string;
const img = buildImage();
const dockerImg = buildImage({ mediaTypes: 'docker', cmd: ['/bin/echo', 'docker'] });

before(async () => {
  open = await startRegistry();
  authed = await startRegistry({ user: 'alice', password: 's3cret' });
  work = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  writeOciLayout(img, join(work, 'layout'), 'v1');
  skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${open.host}/test/busybox:v1`, ['--preserve-digests']);
  await pushRaw(open, 'test/docker', 'v1', dockerImg);
});
after(async () => {
  await open?.stop();
  await authed?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const g = (name: string) => ['--root', join(work, name), '--config', join(work, `${name}-config`)];

function blobs(root: string): string[] {
  const dir = join(root, 'content', 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir) : [];
}

test('pull, images, tag, inspect, push, rmi, prune', async () => {
  const G = g('main');
  let r = await berth([...G, 'pull', `${open.host}/test/busybox:v1`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /: done/);
  r = await berth([...G, 'pull', '-q', `${open.host}/test/docker:v1`]);
  assert.equal(r.code, 0, r.stderr);

  r = await berth([...G, 'images', '--format', 'json']);
  const list = JSON.parse(r.stdout) as Array<{ name: string; digest: string; size: number }>;
  assert.deepEqual(list.map((i) => i.name).sort(), [`${open.host}/test/busybox:v1`, `${open.host}/test/docker:v1`]);
  assert.equal(list.find((i) => i.name.endsWith('busybox:v1'))!.digest, img.manifestDigest);
  r = await berth([...G, 'images']);
  assert.match(r.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE/);
  assert.match(r.stdout, new RegExp(`${open.host}/test/busybox\\s+v1\\s+${img.manifestDigest.slice(7, 19)}`));
  r = await berth([...G, 'images', '-q']);
  assert.equal(r.stdout.trim().split('\n').length, 2);

  assert.equal((await berth([...G, 'tag', `${open.host}/test/busybox:v1`, `${open.host}/other/copy:v2`])).code, 0);
  r = await berth([...G, 'inspect', `${open.host}/other/copy:v2`]);
  const info = JSON.parse(r.stdout) as Array<{ manifestDigest: string; config: { rootfs: { diff_ids: string[] } } }>;
  assert.equal(info[0]!.manifestDigest, img.manifestDigest);
  assert.equal(info[0]!.config.rootfs.diff_ids.length, 3);

  // Push under a new repository of the same registry: blobs are mounted across repositories.
  r = await berth([...G, 'push', `${open.host}/other/copy:v2`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /mounted/);
  assert.equal(r.stdout.trim().split('\n').pop(), `${open.host}/other/copy:v2@${img.manifestDigest}`);
  const head = await fetch(`${open.url}/v2/other/copy/manifests/v2`, { method: 'HEAD', headers: { accept: MediaType.ociManifest } });
  assert.equal(head.headers.get('docker-content-digest'), img.manifestDigest);

  // rmi by name keeps content shared with the other name; by the last name it goes.
  const before = blobs(join(work, 'main')).length;
  r = await berth([...G, 'rmi', `${open.host}/other/copy:v2`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(blobs(join(work, 'main')).length, before);
  r = await berth([...G, 'rmi', `${open.host}/test/docker:v1`]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(blobs(join(work, 'main')).length < before);
  r = await berth([...G, 'image', 'prune', '--all']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(blobs(join(work, 'main')), []);
  assert.deepEqual(readdirSync(join(work, 'main', 'snapshots')), []);
});

test('push to a registry with basic auth: refused without login, works after', async () => {
  const G = g('auth');
  assert.equal((await berth([...G, 'pull', '-q', `${open.host}/test/busybox:v1`])).code, 0);
  assert.equal((await berth([...G, 'tag', `${open.host}/test/busybox:v1`, `${authed.host}/private/bb:v1`])).code, 0);
  let r = await berth([...G, 'push', `${authed.host}/private/bb:v1`]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^berth: registry 127\.0\.0\.1:\d+ refused authentication/);
  r = await berth([...G, 'login', '-u', 'alice', '--password-stdin', authed.host], 'wrong\n');
  assert.equal(r.code, 1, r.stderr);
  assert.equal(existsSync(join(work, 'auth-config', 'auth.json')), false);
  r = await berth([...G, 'login', '-u', 'alice', '--password-stdin', authed.host], 's3cret\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(join(work, 'auth-config', 'auth.json')).mode & 0o777, 0o600);
  r = await berth([...G, 'push', '-q', `${authed.host}/private/bb:v1`]);
  assert.equal(r.code, 0, r.stderr);
  // Pull it back into a fresh store with the same credentials.
  const G2 = ['--root', join(work, 'auth2'), '--config', join(work, 'auth-config')];
  r = await berth([...G2, 'pull', '-q', `${authed.host}/private/bb:v1`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await berth([...G, 'logout', authed.host])).code, 0);
  r = await berth(['--root', join(work, 'auth3'), '--config', join(work, 'auth-config'), 'pull', `${authed.host}/private/bb:v1`]);
  assert.equal(r.code, 1);
  // Credentials from Docker's config.json are used too.
  const dockerDir = join(work, 'dockercfg');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dockerDir);
  writeFileSync(join(dockerDir, 'config.json'), JSON.stringify({ auths: { [`http://${authed.host}`]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
  process.env.DOCKER_CONFIG = dockerDir;
  try {
    r = await berth(['--root', join(work, 'auth3'), '--config', join(work, 'auth-config'), 'pull', '-q', `${authed.host}/private/bb:v1`]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    delete process.env.DOCKER_CONFIG;
  }
});

test('save and load round-trip with identical digests (OCI layout tar and directory)', async () => {
  const G = g('save');
  assert.equal((await berth([...G, 'pull', '-q', `${open.host}/test/busybox:v1`])).code, 0);
  const tar = join(work, 'img.tar');
  let r = await berth([...G, 'save', '-o', tar, `${open.host}/test/busybox:v1`]);
  assert.equal(r.code, 0, r.stderr);
  const G2 = g('loaded');
  r = await berth([...G2, 'load', '-i', tar]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Loaded image: 127\.0\.0\.1:\d+\/test\/busybox:v1/);
  r = await berth([...G2, 'images', '--format', 'json']);
  assert.equal((JSON.parse(r.stdout) as Array<{ digest: string }>)[0]!.digest, img.manifestDigest);
  const dir = join(work, 'img-dir');
  assert.equal((await berth([...G, 'save', '--directory', '-o', dir, `${open.host}/test/busybox:v1`])).code, 0);
  assert.ok(existsSync(join(dir, 'oci-layout')) && existsSync(join(dir, 'manifest.json')));
  const G3 = g('loaded-dir');
  assert.equal((await berth([...G3, 'load', '-i', dir])).code, 0);
});

test('loads a legacy docker save archive (uncompressed layer.tar files)', async () => {
  const { tarArchive } = await import('../../../src/image/tar-writer.ts');
  const configName = `${img.config.rootfs.diff_ids[0]!.slice(7, 20)}.json`;
  const entries: Array<{ name: string; type: 'file'; data: Buffer | string }> = [
    { name: configName, type: 'file', data: img.configBytes },
    ...img.layers.map((l, i) => ({ name: `layer${i}/layer.tar`, type: 'file' as const, data: l.tar })),
    { name: 'manifest.json', type: 'file', data: JSON.stringify([{ Config: configName, RepoTags: ['legacy/app:1'], Layers: img.layers.map((_, i) => `layer${i}/layer.tar`) }]) },
    { name: 'repositories', type: 'file', data: JSON.stringify({ 'legacy/app': { '1': 'x' } }) },
  ];
  writeFileSync(join(work, 'legacy.tar'), tarArchive(entries));
  const G = g('legacy');
  const r = await berth([...G, 'load', '-i', join(work, 'legacy.tar')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Loaded image: legacy\/app:1/);
  const inspect = JSON.parse((await berth([...G, 'inspect', 'legacy/app:1'])).stdout) as Array<{ manifest: { config: { digest: string } } }>;
  assert.equal(inspect[0]!.manifest.config.digest, img.manifest.config.digest);
});

test('bad input: one clear line, the right exit code, nothing half-written', async () => {
  const G = g('bad');
  const root = join(work, 'bad');
  const closedPort = await freePort();
  const cases: Array<{ args: string[]; code: number; match: RegExp }> = [
    { args: ['pull', `${open.host}/test/nonexistent:v1`], code: 1, match: /not found in registry/ },
    { args: ['pull', `${open.host}/test/busybox:nope`], code: 1, match: /not found in registry.*MANIFEST_UNKNOWN/ },
    { args: ['pull', `127.0.0.1:${closedPort}/x:y`], code: 1, match: /cannot reach registry 127\.0\.0\.1:\d+.*ECONNREFUSED/ },
    { args: ['pull', 'Not/A/Valid:Ref'], code: 1, match: /invalid reference/ },
    { args: ['pull', `${open.host}/test/busybox:v1`, '--platform', 'linux/s390x'], code: 1, match: /no manifest for platform linux\/s390x|platform/ },
    { args: ['rmi', 'missing:tag'], code: 1, match: /image "missing:tag" not found/ },
    { args: ['frobnicate'], code: 1, match: /unknown command "frobnicate"/ },
    { args: ['pull', '--bogus', 'x'], code: 125, match: /unknown flag --bogus/ },
  ];
  for (const c of cases) {
    const r = await berth([...G, ...c.args]);
    assert.equal(r.code, c.code, `${c.args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, c.match);
    assert.match(r.stderr, /^berth: /);
  }
  assert.deepEqual(blobs(root), []);
});

async function corruptRegistryBlob(registry: TestRegistry, digest: string, how: 'truncate' | 'flip'): Promise<void> {
  const path = join(registry.storage, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data');
  if (how === 'truncate') truncateSync(path, Math.floor(statSync(path).size / 2));
  else {
    const b = readFileSync(path);
    b[b.length - 20] = b[b.length - 20]! ^ 0xff;
    writeFileSync(path, b);
  }
}

test('corrupt and truncated layers, unsupported media types: refused, store clean', async () => {
  const reg = await startRegistry();
  try {
    for (const [i, how] of (['truncate', 'flip'] as const).entries()) {
      const evil = buildImage({ cmd: [`/bin/${how}`] });
      writeOciLayout(evil, join(work, `evil${i}`), 'v1');
      skopeoCopy(`oci:${join(work, `evil${i}`)}:v1`, `docker://${reg.host}/evil/${how}:v1`, ['--preserve-digests']);
      await corruptRegistryBlob(reg, evil.layers[0]!.descriptor.digest, how);
      const G = g(`evil-${how}`);
      const r = await berth([...G, 'pull', `${reg.host}/evil/${how}:v1`]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`layer ${evil.layers[0]!.descriptor.digest}|blob ${evil.layers[0]!.descriptor.digest}`));
      const root = join(work, `evil-${how}`);
      assert.ok(!blobs(root).includes(evil.layers[0]!.descriptor.digest.slice(7)), 'the bad blob is not in the store');
      const images = JSON.parse((await berth([...G, 'images', '--format', 'json'])).stdout) as unknown[];
      assert.deepEqual(images, []);
      assert.deepEqual(readdirSync(join(root, 'snapshots')), [], 'no snapshot left behind');
    }
    // An unsupported layer media type.
    const odd = buildImage({ cmd: ['/bin/odd'] });
    const manifest = { ...odd.manifest, layers: odd.manifest.layers.map((l) => ({ ...l, mediaType: 'application/x-berth-unknown' })) };
    const mbytes = Buffer.from(JSON.stringify(manifest));
    for (const [d, data] of odd.blobs) if (d !== odd.manifestDigest) await pushBlobRaw(reg, 'evil/odd', d, data);
    const put = await fetch(`${reg.url}/v2/evil/odd/manifests/v1`, { method: 'PUT', headers: { 'content-type': MediaType.ociManifest }, body: new Uint8Array(mbytes) });
    assert.equal(put.status, 201);
    const G = g('odd');
    const r = await berth([...G, 'pull', `${reg.host}/evil/odd:v1`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /unsupported media type "application\/x-berth-unknown"/);
    assert.deepEqual(blobs(join(work, 'odd')), []);
  } finally {
    await reg.stop();
  }
});

async function pushBlobRaw(reg: TestRegistry, repo: string, digest: string, data: Buffer): Promise<void> {
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(start.headers.get('location')!, reg.url);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(data) });
  assert.equal(put.status, 201);
}

test('a mirror from the config dir\'s registries.conf serves docker.io pulls under the docker.io name', async () => {
  skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${open.host}/library/busybox:mirrored`, ['--preserve-digests']);
  const G = g('mirror');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(work, 'mirror-config'), { recursive: true });
  // No insecure = true: a mirror on 127.0.0.1 speaks plain HTTP by default, as the registry itself would.
  writeFileSync(join(work, 'mirror-config', 'registries.conf'), `[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n[[registry.mirror]]\nlocation = "${open.host}"\n`);
  const r = await berth([...G, 'pull', '-q', 'busybox:mirrored']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'docker.io/library/busybox:mirrored');
  const images = JSON.parse((await berth([...G, 'images', '--format', 'json'])).stdout) as Array<{ repository: string; digest: string }>;
  assert.deepEqual(images.map((i) => [i.repository, i.digest]), [['busybox', img.manifestDigest]]);
});

test('registries.conf redirects a name to another location; a bad file is one clear error', async () => {
  skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${open.host}/k8s/pause:3.9`, ['--preserve-digests']);
  const G = g('location');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(work, 'location-config'), { recursive: true });
  const conf = join(work, 'location-config', 'registries.conf');
  writeFileSync(conf, `[[registry]]\nprefix = "registry.k8s.io"\nlocation = "${open.host}/k8s"\ninsecure = true\n`);
  let r = await berth([...G, 'pull', '-q', 'registry.k8s.io/pause:3.9']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'registry.k8s.io/pause:3.9');
  writeFileSync(conf, '[[registry]]\nprefix = "registry.k8s.io"\nlocation = "http://x"\n');
  r = await berth([...G, 'pull', '-q', 'registry.k8s.io/pause:3.9']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /registries\.conf: registry\[0\]\.location: "http:\/\/x" must not have a scheme/);
});
