import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overlayMountSpec } from '../../../src/image/mount-spec.ts';
import { parseGroup, parsePasswd, resolveUserSpec } from '../../../src/image/image-user.ts';
import { imageConfigToSpec, mergeEnv } from '../../../src/image/runtime-config.ts';
import { decodeAuth, normaliseAuthKey, parseChallenges } from '../../../src/image/registry-auth.ts';
import { endpointFor, isLoopbackHost } from '../../../src/image/registry-hosts.ts';
import { chainIds } from '../../../src/oci/image-chain-id.ts';
import { classifyWhiteout, entryComponents } from '../../../src/image/layer-path.ts';
import { sha256Of } from '../../../src/oci/digest.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import type { ImageConfig } from '../../../src/oci/image-spec.ts';

test('overlay mount spec: absolute when short, relative with cwd when long', () => {
  const short = overlayMountSpec({ snapshotsDir: '/var/lib/berth/snapshots', lowerIds: [3, 2, 1], upperId: 4 });
  assert.deepEqual(short, {
    type: 'overlay',
    source: 'overlay',
    options: ['lowerdir=/var/lib/berth/snapshots/3/fs:/var/lib/berth/snapshots/2/fs:/var/lib/berth/snapshots/1/fs', 'upperdir=/var/lib/berth/snapshots/4/fs', 'workdir=/var/lib/berth/snapshots/4/work'],
  });
  const ids = Array.from({ length: 120 }, (_, i) => 500 - i);
  const long = overlayMountSpec({ snapshotsDir: '/a/very/long/storage/root/path/for/berth/snapshots', lowerIds: ids, upperId: 501 });
  assert.equal(long.cwd, '/a/very/long/storage/root/path/for/berth/snapshots');
  assert.ok(long.options.join(',').length < 3584);
  assert.match(long.options[0]!, /^lowerdir=500\/fs:499\/fs:/);
  assert.deepEqual(overlayMountSpec({ snapshotsDir: '/s', lowerIds: [], upperId: 1 }), { type: 'bind', source: '/s/1/fs', options: ['rbind', 'rw'] });
  assert.deepEqual(overlayMountSpec({ snapshotsDir: '/s', lowerIds: [7] }), { type: 'bind', source: '/s/7/fs', options: ['rbind', 'ro'] });
  assert.throws(() => overlayMountSpec({ snapshotsDir: '/s', lowerIds: Array.from({ length: 2000 }, (_, i) => 100000 + i), upperId: 1 }), /too deep/);
});

test('chain ids follow the image spec', () => {
  const a = sha256Of('a');
  const b = sha256Of('b');
  assert.deepEqual(chainIds([a, b]), [a, sha256Of(`${a} ${b}`)]);
});

test('entry names: leading slash stripped, dot-dot refused, whiteouts classified', () => {
  assert.deepEqual(entryComponents('/etc//./passwd'), ['etc', 'passwd']);
  assert.deepEqual(entryComponents('./'), []);
  assert.throws(() => entryComponents('a/../b'), /"\.\."/);
  assert.deepEqual(classifyWhiteout(['a', '.wh.b'], 'a/.wh.b'), { kind: 'whiteout', dir: ['a'], target: 'b' });
  assert.deepEqual(classifyWhiteout(['a', '.wh..wh..opq'], ''), { kind: 'opaque', dir: ['a'] });
  assert.deepEqual(classifyWhiteout(['.wh..wh.plnk'], ''), { kind: 'meta' });
  assert.throws(() => classifyWhiteout(['.wh.'], '.wh.'), /names no valid file/);
});

const passwd = parsePasswd('root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n# comment\nbad line\n');
const group = parseGroup('root:x:0:\napp:x:1001:\nstaff:x:50:app,other\nwheel:x:10:app\n');

test('user resolution as docker does', () => {
  assert.deepEqual(resolveUserSpec('', passwd, group), { uid: 0, gid: 0, additionalGids: [], username: 'root', home: '/root' });
  assert.deepEqual(resolveUserSpec('app', passwd, group), { uid: 1000, gid: 1001, additionalGids: [10, 50], username: 'app', home: '/home/app' });
  assert.deepEqual(resolveUserSpec('1000', passwd, group).gid, 1001);
  assert.deepEqual(resolveUserSpec('1234', passwd, group), { uid: 1234, gid: 0, additionalGids: [] });
  assert.deepEqual(resolveUserSpec('app:staff', passwd, group).gid, 50);
  assert.deepEqual(resolveUserSpec('5:7', undefined, undefined), { uid: 5, gid: 7, additionalGids: [] });
  assert.throws(() => resolveUserSpec('nobody', passwd, group), (e: unknown) => e instanceof BerthError && e.kind === 'not-found' && /unable to find user nobody/.test(e.message));
  assert.throws(() => resolveUserSpec('app:nogroup', passwd, group), /unable to find group nogroup/);
  assert.throws(() => resolveUserSpec('app', undefined, undefined), /has no \/etc\/passwd/);
  assert.throws(() => resolveUserSpec('a:b:c', passwd, group), /expected user\[:group\]/);
  assert.throws(() => parsePasswd('x'.repeat(70000)), (e: unknown) => e instanceof BerthError && e.kind === 'resource-exhausted');
});

const config: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin', 'A=1'], Entrypoint: ['/bin/ep'], Cmd: ['default'], WorkingDir: '/work', User: '1000:1000' },
  rootfs: { type: 'layers', diff_ids: [] },
};

test('image config to runtime spec', () => {
  const s = imageConfigToSpec(config);
  assert.deepEqual(s.process?.args, ['/bin/ep', 'default']);
  assert.equal(s.process?.cwd, '/work');
  assert.deepEqual(s.process?.user, { uid: 1000, gid: 1000 });
  assert.deepEqual(s.process?.env, ['PATH=/bin', 'A=1', 'HOME=/']);
  assert.deepEqual(s.root, { path: 'rootfs' });
  const o = imageConfigToSpec(config, { cmd: ['x'], env: ['A=2', 'B=3', 'PATH'], workdir: '/', user: '0' });
  assert.deepEqual(o.process?.args, ['/bin/ep', 'x']);
  assert.deepEqual(o.process?.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=2', 'B=3', 'HOME=/']);
  assert.deepEqual(imageConfigToSpec(config, { entrypoint: ['/bin/sh'] }).process?.args, ['/bin/sh']);
  const resolved = imageConfigToSpec({ ...config, config: { ...config.config, User: 'app' } }, {}, { resolvedUser: { uid: 1000, gid: 1001, additionalGids: [50], home: '/home/app' } });
  assert.deepEqual(resolved.process?.user, { uid: 1000, gid: 1001, additionalGids: [50] });
  assert.ok(resolved.process?.env?.includes('HOME=/home/app'));
  assert.throws(() => imageConfigToSpec({ ...config, config: { ...config.config, User: 'app' } }), /must be resolved/);
  assert.throws(() => imageConfigToSpec({ ...config, config: {} }), /no command/);
  assert.throws(() => imageConfigToSpec(config, { workdir: 'rel' }), /must be absolute/);
  const base = { ociVersion: '1.2.0', hostname: 'h', process: { user: { uid: 0, gid: 0 }, cwd: '/', noNewPrivileges: true } };
  const merged = imageConfigToSpec(config, {}, { base });
  assert.equal(merged.hostname, 'h');
  assert.equal(merged.process?.noNewPrivileges, true);
  assert.deepEqual(mergeEnv(['A=1'], ['A']), []);
});

test('WWW-Authenticate challenges', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="x\\"y"'), [{ scheme: 'basic', params: { realm: 'x"y' } }]);
  assert.deepEqual(parseChallenges('Basic realm=a, Bearer realm="b"').map((c) => c.scheme), ['basic', 'bearer']);
  assert.deepEqual(parseChallenges(''), []);
});

test('docker config auth keys and values', () => {
  assert.equal(normaliseAuthKey('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(normaliseAuthKey('http://127.0.0.1:5000'), '127.0.0.1:5000');
  assert.deepEqual(decodeAuth(Buffer.from('u:p:w').toString('base64'), 'x'), { username: 'u', password: 'p:w' });
  assert.throws(() => decodeAuth(Buffer.from('nocolon').toString('base64'), 'cfg'), /not base64 of user:password/);
});

test('registry endpoints: plain HTTP where allowed, docker.io on registry-1', () => {
  assert.equal(endpointFor('docker.io', false).url, 'https://registry-1.docker.io');
  assert.equal(endpointFor('reg.local:5000', true).url, 'http://reg.local:5000');
  assert.equal(endpointFor('quay.io', false).url, 'https://quay.io');
  assert.ok(isLoopbackHost('127.0.0.1:5000') && isLoopbackHost('localhost') && isLoopbackHost('[::1]:5000'));
  assert.ok(!isLoopbackHost('10.0.0.1:5000') && !isLoopbackHost('localhost.example.com'));
});
