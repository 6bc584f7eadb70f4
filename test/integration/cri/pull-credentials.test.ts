// PullImage's AuthConfig against a registry that only accepts bearer tokens (Debian's
// docker-registry with `auth: token`, verifying the JWTs of a token service in this process):
// username/password (a GET to the token service with Basic auth), an identity token (the OAuth2
// refresh-token POST), and a registry token (sent to the registry as it is).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestRegistry } from '../../fixtures/image/registry.ts';
import { startTokenServer, startTokenAuthRegistry, type TokenServer } from '../../fixtures/image/token-server.ts';
import { buildImage, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { startBerthd, type RunningBerthd } from '../../support/berthd.ts';
import { GrpcStatus, statusCode } from '../../support/cri-client.ts';

const execFileAsync = promisify(execFile);
let work: string;
let tokens: TokenServer;
let registry: TestRegistry;
let d: RunningBerthd;
const img = buildImage({ cmd: ['/bin/echo', 'private'] });
let ref: string;

const code = statusCode;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'berthd-creds-'));
  tokens = await startTokenServer({ users: { kube: { password: 'pw', actions: ['pull', 'push'], refreshToken: 'refresh-kube' } } });
  registry = await startTokenAuthRegistry(tokens);
  writeOciLayout(img, join(work, 'layout'), 'v');
  // Asynchronously: skopeo asks this process's token service for its push token.
  await execFileAsync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--preserve-digests', '--dest-creds', 'kube:pw', `oci:${join(work, 'layout')}:v`, `docker://${registry.host}/private/app:1`]);
  ref = `${registry.host}/private/app:1`;
  d = await startBerthd();
});

after(async () => {
  await d?.stop();
  d?.cleanup();
  await registry?.stop();
  await tokens?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function pulledAndRemoved(auth: object): Promise<void> {
  const res = await d.client.image('PullImage', { image: { image: ref }, auth });
  assert.equal(res.image_ref, img.manifest.config.digest);
  await d.client.image('RemoveImage', { image: { image: ref } });
}

test('no credentials: PermissionDenied, the token service asked anonymously', async () => {
  const mark = tokens.requests.length;
  assert.equal(await code(d.client.image('PullImage', { image: { image: ref } })), GrpcStatus.PERMISSION_DENIED);
  assert.deepEqual(tokens.requests.slice(mark).map((r) => [r.method, r.user, r.status]), [['GET', undefined, 401]]);
});

test('username and password: a GET with Basic credentials', async () => {
  const mark = tokens.requests.length;
  await pulledAndRemoved({ username: 'kube', password: 'pw' });
  assert.deepEqual(tokens.requests.slice(mark).map((r) => [r.method, r.user, r.scopes, r.status]), [['GET', 'kube', ['repository:private/app:pull'], 200]]);
});

test('an identity token: the OAuth2 refresh-token POST; a wrong one is refused', async () => {
  const mark = tokens.requests.length;
  await pulledAndRemoved({ username: '<token>', identity_token: 'refresh-kube' });
  assert.deepEqual(tokens.requests.slice(mark).map((r) => [r.method, r.user, r.service, r.scopes, r.status]), [['POST', 'kube', tokens.service, ['repository:private/app:pull'], 200]]);
  const err = await d.client.image('PullImage', { image: { image: ref }, auth: { identity_token: 'stolen' } }).catch((e) => e);
  assert.equal(err.code, GrpcStatus.PERMISSION_DENIED);
  assert.match(err.details, /refused authentication/);
});

test('a registry token: sent as the bearer token, no token service involved; a bad one is refused', async () => {
  // What a credential provider hands the kubelet: a token already issued for the repository.
  const res = await fetch(`${tokens.realm}?service=${tokens.service}&scope=repository:private/app:pull`, { headers: { authorization: `Basic ${Buffer.from('kube:pw').toString('base64')}` } });
  const { token } = (await res.json()) as { token: string };
  const mark = tokens.requests.length;
  await pulledAndRemoved({ registry_token: token });
  assert.deepEqual(tokens.requests.slice(mark), [], 'the token service was not asked');
  const err = await d.client.image('PullImage', { image: { image: ref }, auth: { registry_token: 'not-a-jwt' } }).catch((e) => e);
  assert.equal(err.code, GrpcStatus.PERMISSION_DENIED);
  assert.match(err.details, /the registry token was rejected/);
});
