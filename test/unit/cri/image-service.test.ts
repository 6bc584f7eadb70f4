// The pure parts of the ImageService and RuntimeService: grouping store records into CRI images,
// finding one by id, tag or digest, the image user, request credentials, pull checks, the
// status conditions, the pod CIDR and the log line format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupImages, imageUser, matchImage } from '../../../src/cri/server/image-catalog.ts';
import { credentialsApply, requestCredentials } from '../../../src/cri/server/pull-auth.ts';
import { pullTarget } from '../../../src/cri/server/image-pull.ts';
import { runtimeConditions } from '../../../src/cri/server/runtime-status.ts';
import { checkPodCidr } from '../../../src/cri/server/runtime-config.ts';
import { formatLogLine } from '../../../src/cri/server/logger.ts';
import { statusOf } from '../../../src/cri/server/rpc.ts';
import { BerthError, invalid, notFound } from '../../../src/oci/errors.ts';
import type { ImageRecord } from '../../../src/image/image-records.ts';
import type { Digest } from '../../../src/oci/digest.ts';

const dg = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const rec = (name: string, digest: Digest): ImageRecord => ({ name, digest, mediaType: 'application/vnd.oci.image.index.v1+json', size: 1, createdAt: 0, updatedAt: 0 });
const facts = (id: Digest, user?: string) => ({
  id,
  manifestDigest: dg('9'),
  size: 1234,
  config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' as const, diff_ids: [] }, config: user === undefined ? {} : { User: user } },
});

test('records group into one CRI image per config digest, with every tag and a repo digest per name', () => {
  const entries = groupImages([
    { record: rec('registry.k8s.io/pause:3.9', dg('a')), facts: facts(dg('1'), '65535') },
    { record: rec('docker.io/library/pause:latest', dg('a')), facts: facts(dg('1'), '65535') },
    { record: rec(`registry.k8s.io/pause@${dg('a')}`, dg('a')), facts: facts(dg('1'), '65535') },
    { record: rec(`quay.io/x/y@${dg('b')}`, dg('b')), facts: facts(dg('2'), 'www-data:www-data') },
  ]);
  assert.equal(entries.length, 2);
  assert.deepEqual(entries[0]!.image, {
    id: dg('1'),
    repo_tags: ['registry.k8s.io/pause:3.9', 'docker.io/library/pause:latest'],
    repo_digests: [`registry.k8s.io/pause@${dg('a')}`, `docker.io/library/pause@${dg('a')}`],
    size: '1234',
    uid: { value: '65535' },
    username: '',
    spec: { image: dg('1'), annotations: {} },
    pinned: false,
  });
  assert.deepEqual(entries[1]!.image.repo_tags, []);
  assert.deepEqual(entries[1]!.image.repo_digests, [`quay.io/x/y@${dg('b')}`]);
  assert.equal(entries[1]!.image.username, 'www-data');

  for (const q of [dg('1'), '1'.repeat(64), 'registry.k8s.io/pause:3.9', 'pause', `registry.k8s.io/pause@${dg('a')}`, `pause@${dg('a')}`]) {
    assert.equal(matchImage(entries, q)?.image.id, dg('1'), q);
  }
  assert.equal(matchImage(entries, 'registry.k8s.io/pause:3.8'), undefined);
  assert.equal(matchImage(entries, `quay.io/x/y@${dg('c')}`), undefined);
  assert.equal(matchImage(entries, dg('3')), undefined);
  assert.throws(() => matchImage(entries, ''), /image: required/);
  assert.throws(() => matchImage(entries, 'Bad Name'), (e: BerthError) => e.kind === 'invalid-argument');
});

test('the image user as containerd reads it: a number is a uid, a name is a username, the group part is dropped', () => {
  assert.deepEqual(imageUser(undefined), { uid: null, username: '' });
  assert.deepEqual(imageUser(''), { uid: null, username: '' });
  assert.deepEqual(imageUser('0'), { uid: { value: '0' }, username: '' });
  assert.deepEqual(imageUser('1000:1000'), { uid: { value: '1000' }, username: '' });
  assert.deepEqual(imageUser('nginx'), { uid: null, username: 'nginx' });
  assert.deepEqual(imageUser('app:staff'), { uid: null, username: 'app' });
});

test('request credentials: each AuthConfig form, and where they may go', () => {
  assert.equal(requestCredentials(null), undefined);
  assert.equal(requestCredentials({}), undefined);
  assert.deepEqual(requestCredentials({ username: 'u', password: 'p' }), { credentials: { username: 'u', password: 'p' } });
  assert.deepEqual(requestCredentials({ auth: Buffer.from('u:p:q').toString('base64'), server_address: 'https://index.docker.io/v1/' }), { credentials: { username: 'u', password: 'p:q' }, domain: 'docker.io' });
  assert.deepEqual(requestCredentials({ identity_token: 'refresh', username: '<token>' }), { credentials: { username: '<token>', password: '', identityToken: 'refresh' } });
  assert.deepEqual(requestCredentials({ registry_token: 'bearer' }), { credentials: { username: '', password: '', registryToken: 'bearer' } });
  assert.throws(() => requestCredentials({ auth: Buffer.from('nocolon').toString('base64') }), /auth\.auth: not base64/);
  assert.throws(() => requestCredentials({ password: 'p' }), /without auth\.username/);
  assert.ok(credentialsApply(undefined, 'registry.k8s.io', '127.0.0.1:5000'));
  assert.ok(credentialsApply('registry.k8s.io', 'registry.k8s.io', '127.0.0.1:5000'), 'the place registries.conf pulls the image from');
  assert.ok(credentialsApply('mirror.local', 'docker.io', 'mirror.local'));
  assert.ok(!credentialsApply('quay.io', 'docker.io', 'registry-1.docker.io'));
});

test('pull checks: name required and normalised, no ids, unknown runtime handlers and huge maps refused', () => {
  const runtimes = { berth: {}, runc: {} };
  assert.equal(pullTarget({ image: { image: 'busybox' } }, runtimes), 'docker.io/library/busybox:latest');
  assert.equal(pullTarget({ image: { image: `x.io/a@${dg('d')}` } }, runtimes), `x.io/a@${dg('d')}`);
  assert.equal(pullTarget({ image: { image: 'x.io/a:1', runtime_handler: 'runc' } }, runtimes), 'x.io/a:1');
  assert.throws(() => pullTarget({}, runtimes), /image\.image: required/);
  assert.throws(() => pullTarget({ image: { image: dg('e') } }, runtimes), /is an image id/);
  assert.throws(() => pullTarget({ image: { image: 'x', runtime_handler: 'kata' } }, runtimes), /unknown runtime handler "kata"/);
  assert.throws(() => pullTarget({ image: { image: 'x' }, sandbox_config: { labels: { k: 'v'.repeat(2 * 1024 * 1024) } } }, runtimes), /sandbox_config\.labels: more than/);
  assert.throws(() => pullTarget({ image: { image: 'x', annotations: { '': 'v' } } }, runtimes), /image\.annotations: empty key/);
});

test('status conditions: NetworkReady false with NetworkPluginNotReady until a network loads', () => {
  assert.deepEqual(runtimeConditions({ ready: false, message: 'no CNI network configuration in /etc/cni/net.d' }), [
    { type: 'RuntimeReady', status: true, reason: '', message: '' },
    { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: 'Network plugin returns error: no CNI network configuration in /etc/cni/net.d' },
  ]);
  assert.deepEqual(runtimeConditions({ ready: true, network: 'pods', cniVersion: '1.0.0' })[1], { type: 'NetworkReady', status: true, reason: '', message: '' });
});

test('pod CIDRs: IPv4, IPv6, dual stack; anything else refused', () => {
  assert.equal(checkPodCidr('10.244.1.0/24'), '10.244.1.0/24');
  assert.equal(checkPodCidr('10.244.1.0/24,fd00:10:244:1::/64'), '10.244.1.0/24,fd00:10:244:1::/64');
  assert.throws(() => checkPodCidr('10.244.1.0'), /is not a CIDR/);
});

test('typed errors map to gRPC codes in one place; log lines are logfmt', () => {
  assert.deepEqual(statusOf(invalid('image: required', { field: 'image' })), { code: 3, details: 'image: required' });
  assert.deepEqual(statusOf(notFound('container x not found')), { code: 5, details: 'container x not found' });
  assert.equal(statusOf(new BerthError('unavailable', 'registry down')).code, 14);
  assert.equal(statusOf(new TypeError('boom')).code, 13);
  assert.equal(
    formatLogLine(new Date(0), 'debug', 'rpc', { method: '/runtime.v1.RuntimeService/Version', duration_ms: 0.5, code: 'OK', none: undefined }),
    'time=1970-01-01T00:00:00.000Z level=debug msg=rpc method=/runtime.v1.RuntimeService/Version duration_ms=0.5 code=OK',
  );
  assert.equal(formatLogLine(new Date(0), 'info', 'rpc failed', { error: 'a "b"' }), 'time=1970-01-01T00:00:00.000Z level=info msg="rpc failed" error="a \\"b\\""');
});
