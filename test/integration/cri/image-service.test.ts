// berthd end to end, driven through its socket by a grpc-js client: the RuntimeService basics and
// every ImageService RPC against Debian's docker-registry, with registries.conf redirecting
// registry.k8s.io to the local registry, credentials from the request, the store shared with
// `berth`, and hostile requests that must get InvalidArgument while the daemon stays up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, skopeoCopy, type TestRegistry } from '../../fixtures/image/registry.ts';
import { buildImage, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { berth } from '../../fixtures/image/cli-run.ts';
import { startBerthd, runBerthdToExit, type RunningBerthd } from '../../support/berthd.ts';
import { GrpcStatus, statusCode } from '../../support/cri-client.ts';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { loadCri } from '../../../src/cri/proto-load.ts';

let registry: TestRegistry;
let authed: TestRegistry;
let work: string;
let d: RunningBerthd;
const pause = buildImage({ user: '65535', cmd: ['/bin/sleep', 'infinity'] });
const named = buildImage({ user: 'app:staff', cmd: ['/bin/echo', 'named'] });

const code = statusCode;

before(async () => {
  registry = await startRegistry();
  authed = await startRegistry({ user: 'kube', password: 'pull-secret' });
  work = mkdtempSync(join(tmpdir(), 'berthd-images-'));
  writeOciLayout(pause, join(work, 'pause'), 'v');
  writeOciLayout(named, join(work, 'named'), 'v');
  const copy = (layout: string, dest: string, creds?: string) =>
    skopeoCopy(`oci:${join(work, layout)}:v`, `docker://${dest}`, ['--preserve-digests', ...(creds ? ['--dest-creds', creds] : [])]);
  copy('pause', `${registry.host}/k8s/pause:3.9`);
  copy('named', `${registry.host}/test/named:latest`);
  copy('named', `${authed.host}/private/app:1`, 'kube:pull-secret');
  d = await startBerthd({
    registriesConf: `[[registry]]\nprefix = "registry.k8s.io"\nlocation = "${registry.host}/k8s"\ninsecure = true\n`,
  });
});

after(async () => {
  await d?.stop();
  d?.cleanup();
  await registry?.stop();
  await authed?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('Version fills all four fields', async () => {
  const v = await d.client.runtime('Version', { version: 'v1' });
  assert.deepEqual(v, { version: '0.1.0', runtime_name: 'berth', runtime_version: '0.1.0', runtime_api_version: 'v1' });
});

test('Status: NetworkReady follows the CNI conf dir; RuntimeConfig, UpdateRuntimeConfig; the rest is Unimplemented', async () => {
  let s = await d.client.runtime('Status', {});
  const cond = (type: string) => s.status.conditions.find((c: { type: string }) => c.type === type);
  assert.equal(cond('RuntimeReady').status, true);
  assert.equal(cond('NetworkReady').status, false);
  assert.equal(cond('NetworkReady').reason, 'NetworkPluginNotReady');
  assert.match(cond('NetworkReady').message, /no CNI network configuration/);
  assert.deepEqual(s.info, {}, 'info only when verbose');

  writeFileSync(join(d.cniConfDir, '10-pods.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge', bridge: 'cni0' }] }));
  await d.client.runtime('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '10.88.0.0/16' } } });
  s = await d.client.runtime('Status', { verbose: true });
  assert.equal(cond('NetworkReady').status, true);
  assert.equal(JSON.parse(s.info.config).podCidr, '10.88.0.0/16');
  assert.equal(JSON.parse(s.info.network).network, 'pods');
  assert.deepEqual(s.runtime_handlers.map((h: { name: string }) => h.name), ['', 'berth']);

  assert.deepEqual(await d.client.runtime('RuntimeConfig'), { linux: { cgroup_driver: 'CGROUPFS' } });
  assert.equal(await code(d.client.runtime('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: 'ten/8' } } })), GrpcStatus.INVALID_ARGUMENT);
  const err = await d.client.runtime('CheckpointContainer', {}).catch((e) => e);
  assert.equal(err.code, GrpcStatus.UNIMPLEMENTED);
  assert.match(err.details, /CheckpointContainer is not implemented/);
});

test('PullImage through registries.conf: the id is the config digest, the name is the one asked for', async () => {
  assert.deepEqual(await d.client.image('ListImages', {}), { images: [] });
  const res = await d.client.image('PullImage', { image: { image: 'registry.k8s.io/pause:3.9' }, sandbox_config: { annotations: { 'ignored': 'yes' } } });
  assert.equal(res.image_ref, pause.manifest.config.digest);

  const byTag = await d.client.image('ImageStatus', { image: { image: 'registry.k8s.io/pause:3.9' } });
  const byId = await d.client.image('ImageStatus', { image: { image: pause.manifest.config.digest } });
  const byDigest = await d.client.image('ImageStatus', { image: { image: `registry.k8s.io/pause@${pause.manifestDigest}` } });
  assert.deepEqual(byTag, byId);
  assert.deepEqual(byTag, byDigest);
  const image = byTag.image;
  assert.equal(image.id, pause.manifest.config.digest);
  assert.deepEqual(image.repo_tags, ['registry.k8s.io/pause:3.9']);
  assert.deepEqual(image.repo_digests, [`registry.k8s.io/pause@${pause.manifestDigest}`]);
  assert.equal(Number(image.size), pause.manifest.config.size + pause.manifest.layers.reduce((n, l) => n + l.size, 0));
  assert.deepEqual(image.uid, { value: '65535' });
  assert.equal(image.username, '');
  assert.deepEqual(byTag.info, {});

  const verbose = await d.client.image('ImageStatus', { image: { image: 'registry.k8s.io/pause:3.9' }, verbose: true });
  const info = JSON.parse(verbose.info.info);
  assert.equal(info.manifestDigest, pause.manifestDigest);
  assert.deepEqual(info.imageSpec.config.Cmd, ['/bin/sleep', 'infinity']);

  // berth reads the same store.
  const listed = JSON.parse((await berth(['--root', d.root, 'images', '--format', 'json'])).stdout) as Array<{ name: string }>;
  assert.deepEqual(listed.map((i) => i.name), ['registry.k8s.io/pause:3.9']);
});

test('an untagged name pulls :latest; a digest pull has one RepoDigest and no RepoTags; a User name is username', async () => {
  const latest = await d.client.image('PullImage', { image: { image: `${registry.host}/test/named` } });
  assert.equal(latest.image_ref, named.manifest.config.digest);
  let s = await d.client.image('ImageStatus', { image: { image: `${registry.host}/test/named:latest` } });
  assert.deepEqual(s.image.repo_tags, [`${registry.host}/test/named:latest`]);
  assert.equal(s.image.uid, null);
  assert.equal(s.image.username, 'app');

  const byDigest = `${registry.host}/k8s/pause@${pause.manifestDigest}`;
  await d.client.image('PullImage', { image: { image: byDigest } });
  s = await d.client.image('ImageStatus', { image: { image: byDigest } });
  // The same image as registry.k8s.io/pause:3.9: one object, every name.
  assert.deepEqual(s.image.repo_tags, ['registry.k8s.io/pause:3.9']);
  assert.deepEqual(s.image.repo_digests.sort(), [byDigest, `registry.k8s.io/pause@${pause.manifestDigest}`].sort());

  const list = (await d.client.image('ListImages', {})).images as Array<{ id: string }>;
  assert.deepEqual(list.map((i) => i.id).sort(), [pause.manifest.config.digest, named.manifest.config.digest].sort());
  const filtered = await d.client.image('ListImages', { filter: { image: { image: `${registry.host}/test/named` } } });
  assert.deepEqual(filtered.images.map((i: { id: string }) => i.id), [named.manifest.config.digest]);
  const streamed = await d.client.stream('ImageService', 'StreamImages', {});
  assert.deepEqual(streamed.flatMap((m: { images: Array<{ id: string }> }) => m.images.map((i) => i.id)).sort(), list.map((i) => i.id).sort());
});

test('a digest-only pull lists one RepoDigest and no RepoTags', async () => {
  const other = mkdtempSync(join(tmpdir(), 'berthd-digest-'));
  const d2 = await startBerthd({ dir: other });
  try {
    const ref = `${registry.host}/test/named@${named.manifestDigest}`;
    const res = await d2.client.image('PullImage', { image: { image: ref } });
    assert.equal(res.image_ref, named.manifest.config.digest);
    const s = await d2.client.image('ImageStatus', { image: { image: res.image_ref } });
    assert.deepEqual(s.image.repo_tags, []);
    assert.deepEqual(s.image.repo_digests, [ref]);
  } finally {
    await d2.stop();
    rmSync(other, { recursive: true, force: true });
  }
});

test('PullImage with the request credentials: username/password and auth; refused without', async () => {
  const ref = `${authed.host}/private/app:1`;
  assert.equal(await code(d.client.image('PullImage', { image: { image: ref } })), GrpcStatus.PERMISSION_DENIED);
  assert.equal(await code(d.client.image('PullImage', { image: { image: ref }, auth: { username: 'kube', password: 'wrong' } })), GrpcStatus.PERMISSION_DENIED);
  // Credentials for another registry are not sent.
  assert.equal(await code(d.client.image('PullImage', { image: { image: ref }, auth: { username: 'kube', password: 'pull-secret', server_address: 'elsewhere.example' } })), GrpcStatus.PERMISSION_DENIED);
  const res = await d.client.image('PullImage', { image: { image: ref }, auth: { username: 'kube', password: 'pull-secret', server_address: authed.host } });
  assert.equal(res.image_ref, named.manifest.config.digest);
  await d.client.image('RemoveImage', { image: { image: ref } });
  const again = await d.client.image('PullImage', { image: { image: ref }, auth: { auth: Buffer.from('kube:pull-secret').toString('base64') } });
  assert.equal(again.image_ref, named.manifest.config.digest);
});

test('RemoveImage removes every name of the image, twice is fine; a missing image is an empty status', async () => {
  await d.client.image('RemoveImage', { image: { image: 'registry.k8s.io/pause:3.9' } });
  await d.client.image('RemoveImage', { image: { image: 'registry.k8s.io/pause:3.9' } });
  await d.client.image('RemoveImage', { image: { image: pause.manifest.config.digest } });
  assert.deepEqual(await d.client.image('ImageStatus', { image: { image: pause.manifest.config.digest } }), { image: null, info: {} });
  assert.deepEqual(await d.client.image('ImageStatus', { image: { image: `${registry.host}/k8s/pause@${pause.manifestDigest}` } }), { image: null, info: {} });
  const ids = (await d.client.image('ListImages', {})).images.map((i: { id: string }) => i.id);
  assert.ok(!ids.includes(pause.manifest.config.digest));
});

test('ImageFsInfo: used bytes and inodes of the snapshots dir, a timestamp in ns', async () => {
  const before = BigInt(Date.now()) * 1_000_000n;
  const r = await d.client.image('ImageFsInfo', {});
  assert.equal(r.image_filesystems.length, 1);
  const fs = r.image_filesystems[0];
  assert.equal(fs.fs_id.mountpoint, join(d.root, 'snapshots'));
  assert.ok(Number(fs.used_bytes.value) > named.layers.reduce((n, l) => n + l.tar.length, 0) / 2, `used ${fs.used_bytes.value}`);
  assert.ok(Number(fs.inodes_used.value) > 10);
  assert.ok(BigInt(fs.timestamp) >= before - 1_000_000_000n && BigInt(fs.timestamp) <= BigInt(Date.now()) * 1_000_000n);
  assert.deepEqual(r.container_filesystems, []);
});

test('malformed requests get InvalidArgument and the daemon stays up', async () => {
  assert.equal(await code(d.client.image('PullImage', { image: { image: '' } })), GrpcStatus.INVALID_ARGUMENT);
  assert.equal(await code(d.client.image('PullImage', {})), GrpcStatus.INVALID_ARGUMENT);
  assert.equal(await code(d.client.image('PullImage', { image: { image: 'library/BusyBox:1' } })), GrpcStatus.INVALID_ARGUMENT);
  assert.equal(await code(d.client.image('ImageStatus', { image: { image: '' } })), GrpcStatus.INVALID_ARGUMENT);
  assert.equal(await code(d.client.image('RemoveImage', {})), GrpcStatus.INVALID_ARGUMENT);
  const labels: Record<string, string> = {};
  for (let i = 0; i < 10; i++) labels[`k${i}`] = 'x'.repeat(1024 * 1024);
  assert.equal(await code(d.client.image('PullImage', { image: { image: 'registry.k8s.io/pause:3.9' }, sandbox_config: { labels } })), GrpcStatus.INVALID_ARGUMENT);
  // Bytes that are no protobuf message of the method's request type.
  const cri = loadCri();
  const decodes = (service: 'RuntimeService' | 'ImageService', method: string, bytes: Buffer): boolean => {
    try {
      (service === 'ImageService' ? cri.imageService : cri.runtimeService)[method]!.requestDeserialize(bytes);
      return true;
    } catch {
      return false;
    }
  };
  const bad = [Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), Buffer.from([0x0f]), Buffer.from([0x0a, 0x05, 0x0a, 0x09])];
  for (const bytes of bad) {
    for (const [service, method] of [['ImageService', 'PullImage'], ['ImageService', 'ImageStatus'], ['ImageService', 'RemoveImage'], ['RuntimeService', 'Status']] as const) {
      if (decodes(service, method, bytes)) {
        assert.equal(method, 'Status', `${method} ${bytes.toString('hex')} should not decode`);
        continue;
      }
      const err = await d.client.rawCall(service, method, bytes).catch((e) => e);
      assert.equal(err.code, GrpcStatus.INVALID_ARGUMENT, `${method} ${bytes.toString('hex')}: ${err.details}`);
      assert.match(err.details, new RegExp(`the ${method} request is not a valid protobuf message`));
    }
  }
  // Random bytes: those that are no PullImageRequest get InvalidArgument; those that happen to
  // decode are an ordinary request (most then fail the checks); none may crash the daemon.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
  let refused = 0;
  for (let i = 0; i < 50; i++) {
    const bytes = Buffer.from(Array.from({ length: 1 + (i % 40) }, rand));
    const err = await d.client.rawCall('ImageService', 'PullImage', bytes).catch((e) => e);
    if (!decodes('ImageService', 'PullImage', bytes)) {
      assert.equal(err.code, GrpcStatus.INVALID_ARGUMENT, `PullImage ${bytes.toString('hex')}: ${err.details}`);
      refused++;
    } else assert.notEqual(err.code, GrpcStatus.INTERNAL, `PullImage ${bytes.toString('hex')}: ${err.details}`);
  }
  assert.ok(refused > 10, `${refused} of 50 random messages did not decode`);
  // Above the 16 MiB cap: refused before decoding.
  const huge = await d.client.rawCall('ImageService', 'ImageStatus', Buffer.alloc(17 * 1024 * 1024)).catch((e) => e);
  assert.equal(huge.code, GrpcStatus.RESOURCE_EXHAUSTED);
  assert.equal((await d.client.runtime('Version', {})).runtime_name, 'berth');
  await d.waitForLog(/level=info msg="rpc failed" method=\/runtime\.v1\.ImageService\/PullImage .*code=INVALID_ARGUMENT/);
  await d.waitForLog(/level=debug msg=rpc method=\/runtime\.v1\.RuntimeService\/Version duration_ms=[0-9.]+ code=OK/);
});

test('broken HTTP/2 from a client closes that connection only', async () => {
  const P = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
  const frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(stream, 5);
    return Buffer.concat([h, payload]);
  };
  const settings = frame(0x4, 0, 0, Buffer.alloc(0));
  const cases: Array<[string, Buffer, RegExp | undefined]> = [
    ['not HTTP/2', Buffer.from('GET / HTTP/1.1\r\n\r\n'), undefined],
    ['half a preface', P.subarray(0, 10), undefined],
    ['HPACK index 0', Buffer.concat([P, settings, frame(0x1, 0x4, 1, Buffer.from([0x80]))]), /HPACK header block: index 0/],
    ['CONTINUATION alone', Buffer.concat([P, settings, frame(0x9, 0x4, 1, Buffer.from([0x82]))]), /CONTINUATION for stream 1 without a header block/],
    ['a 16 MiB header frame', Buffer.concat([P, settings, Buffer.from([0xff, 0xff, 0xff, 0x01, 0x04, 0, 0, 0, 1])]), /header frame of 16777215 bytes/],
  ];
  for (const [name, bytes, logged] of cases) {
    await new Promise<void>((done) => {
      const s = connect(d.socket);
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      s.on('close', () => done());
      s.write(bytes, () => setTimeout(() => s.end(), 200));
    });
    if (logged) await d.waitForLog(new RegExp(`msg="connection closed: malformed HTTP/2 from client" error=.*${logged.source}`));
    assert.equal((await d.client.runtime('Version', {})).runtime_name, 'berth', `after ${name}`);
  }
});

test('the socket is 0600; a second berthd on it refuses; a stale socket is replaced; SIGTERM stops cleanly', async () => {
  assert.equal(statSync(d.socket).mode & 0o777, 0o600);
  const second = await runBerthdToExit(['--config', d.configFile, '--root', join(d.dir, 'other-root')]);
  assert.notEqual(second.code, 0);
  assert.match(second.stderr, /another process \(a running berthd\?\) is serving/);
  assert.equal((await d.client.runtime('Version', {})).runtime_name, 'berth', 'the first one still serves');

  const dir = mkdtempSync(join(tmpdir(), 'berthd-stale-'));
  try {
    const a = await startBerthd({ dir });
    a.client.close();
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    assert.ok(existsSync(a.socket), 'a killed daemon leaves its socket');
    // A registry that answers the manifest request after a while: a pull in flight at SIGTERM.
    let arrived!: () => void;
    const requested = new Promise<void>((r) => (arrived = r));
    const slow = createServer((req, res) => {
      if (req.url?.includes('/manifests/')) {
        arrived();
        setTimeout(() => res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'), 1500);
      } else res.writeHead(200).end('{}');
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const b = await startBerthd({ dir });
    try {
      assert.equal((await b.client.runtime('Version', {})).runtime_name, 'berth');
      const pending = b.client.image('PullImage', { image: { image: `127.0.0.1:${(slow.address() as AddressInfo).port}/slow/app:1` } }).catch((e) => e);
      await requested;
      const stopping = Date.now();
      b.child.kill('SIGTERM');
      const err = await pending;
      assert.equal(err.code, GrpcStatus.NOT_FOUND, `the pull finished rather than being cut: ${err.details}`);
      assert.equal(await b.exited, 0);
      assert.ok(Date.now() - stopping >= 1000, 'shutdown waited for the call');
    } finally {
      slow.close();
    }
    assert.ok(!existsSync(b.socket), 'the socket is removed on shutdown');
    await b.waitForLog(/msg="berthd stopped"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config errors name the file and key; unknown keys are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berthd-config-'));
  try {
    const file = join(dir, 'c.toml');
    writeFileSync(file, `root = "${dir}/r"\nlisten = "${dir}/s.sock"\n[cni]\nconf_dirs = "/etc/cni/net.d"\n`);
    let r = await runBerthdToExit(['--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`${file}: cni\\.conf_dirs: unknown key`));
    writeFileSync(file, `registries_config = "${dir}/reg.conf"\nlisten = "${dir}/s.sock"\nroot = "${dir}/r"\nstate = "${dir}/st"\n`);
    writeFileSync(join(dir, 'reg.conf'), '[[registry]]\nlocation = "https://x"\n');
    r = await runBerthdToExit(['--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^berthd: cannot start: .*reg\.conf: registry\[0\]\.location: "https:\/\/x" must not have a scheme/);
    r = await runBerthdToExit(['--config', join(dir, 'missing.toml')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /missing\.toml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
