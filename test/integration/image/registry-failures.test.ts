// The registry client's failure paths against real peers: bearer-token auth with a token service
// in front of Debian's docker-registry (`auth: token`, real JWT verification), and a fault-injecting
// proxy in front of a plain docker-registry that cuts, fails, resets or stalls responses (pulls and
// pushes). Then a store on a tiny tmpfs that runs out of space mid-pull. Each failure must end in
// one clear error line and leave no image record, committed blob or snapshot behind.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, skopeoCopy, type TestRegistry } from '../../fixtures/image/registry.ts';
import { startFaultProxy, type Fault, type FaultProxy } from '../../fixtures/image/fault-proxy.ts';
import { startTokenServer, startTokenAuthRegistry, type TokenServer } from '../../fixtures/image/token-server.ts';
import { buildImage, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { berth } from '../../fixtures/image/cli-run.ts';
import { ImageStore } from '../../../src/image/image-store.ts';
import { pullImage, type PullOptions } from '../../../src/image/pull.ts';
import { pushImage } from '../../../src/image/push.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import type { Digest } from '../../../src/oci/digest.ts';

const execFileAsync = promisify(execFile);
let work: string;
const img = buildImage();

before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-regfail-'));
  writeOciLayout(img, join(work, 'layout'), 'v1');
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** What a store holds: image names, committed blobs, snapshot dirs and records, ingests. */
async function storeState(root: string): Promise<{ images: string[]; blobs: string[]; snapshotDirs: string[]; snapshots: string[]; ingests: Array<{ ref: string; offset: number }> }> {
  const store = ImageStore.open(root);
  try {
    const blobsDir = join(root, 'content', 'blobs', 'sha256');
    const snapDir = join(root, 'snapshots');
    return {
      images: store.records.list().map((r) => r.name),
      blobs: existsSync(blobsDir) ? readdirSync(blobsDir).map((h) => `sha256:${h}`) : [],
      snapshotDirs: existsSync(snapDir) ? readdirSync(snapDir) : [],
      snapshots: store.snapshots.walk().map((s) => s.key),
      ingests: (await store.content.ingests()).map((i) => ({ ref: i.ref, offset: i.offset })),
    };
  } finally {
    store.close();
  }
}

async function pullInto(root: string, ref: string, opts: PullOptions = {}) {
  const store = ImageStore.open(root);
  try {
    return await pullImage(store, ref, { dockerConfig: null, ...opts });
  } finally {
    store.close();
  }
}

/** Pulls expecting failure; returns the BerthError after checking it is one line. */
async function pullFails(root: string, ref: string, opts: PullOptions = {}): Promise<BerthError> {
  try {
    await pullInto(root, ref, opts);
  } catch (err) {
    assert.ok(err instanceof BerthError, `expected a BerthError, got ${String(err)}`);
    assert.doesNotMatch(err.describe(), /\n/);
    return err;
  }
  assert.fail(`pull of ${ref} succeeded but should have failed`);
}

/** N of a `bytes=N-` Range header. */
function rangeStart(range: string | undefined): number {
  const m = /^bytes=(\d+)-$/.exec(range ?? '');
  assert.ok(m, `expected a Range: bytes=N- header, got ${range}`);
  return Number(m[1]);
}

async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function verifyBlobs(root: string, digests: Digest[]): Promise<void> {
  const store = ImageStore.open(root);
  try {
    for (const d of digests) await store.content.verify(d);
  } finally {
    store.close();
  }
}

describe('faults between the client and the registry', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  const layer0 = img.layers[0]!.descriptor;
  const layer1 = img.layers[1]!.descriptor;
  const blobPath = (d: string) => new RegExp(`/blobs/${d}$`);
  // Short back-off; an idle timeout long enough that a loaded machine never trips it by accident,
  // and, for the stall tests, one short enough to keep them quick.
  const fast: PullOptions = { retries: 3, retryDelayMs: 10, idleTimeoutMs: 5_000 };
  const STALL_MS = 1_000;
  const stalling: PullOptions = { retryDelayMs: 10, idleTimeoutMs: STALL_MS };
  let n = 0;
  const freshRoot = () => join(work, `fault-${++n}`);

  before(async () => {
    registry = await startRegistry();
    skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${registry.host}/test/busybox:v1`, ['--preserve-digests']);
    proxy = await startFaultProxy(registry.url);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  const ref = () => `${proxy.host}/test/busybox:v1`;
  const since = (mark: number) => proxy.seen.slice(mark);

  test('a blob cut mid-stream is resumed with a Range request and verifies (streamed unpack)', async () => {
    assert.ok(layer0.size > 200_000, 'layer 0 is big enough to cut');
    proxy.addRule({ method: 'GET', path: blobPath(layer0.digest), fault: { kind: 'cut', afterBytes: 100_000 }, times: 1 });
    const mark = proxy.seen.length;
    const root = freshRoot();
    const res = await pullInto(root, ref(), fast);
    assert.equal(res.digest, img.manifestDigest);
    const gets = since(mark).filter((s) => s.path.endsWith(layer0.digest));
    assert.deepEqual(gets.map((s) => [s.fault, s.status]), [['cut', 200], [undefined, 206]]);
    assert.equal(gets[0]!.bytes, 100_000);
    // The client resumes from what it had taken in: the bytes before the cut, at most.
    const resumeAt = rangeStart(gets[1]!.range);
    assert.ok(resumeAt > 0 && resumeAt <= 100_000, `resumed at ${resumeAt}`);
    assert.equal(gets[1]!.bytes, layer0.size - resumeAt);
    const state = await storeState(root);
    assert.deepEqual(state.images, [`${proxy.host}/test/busybox:v1`]);
    assert.deepEqual(state.ingests, []);
    await verifyBlobs(root, [layer0.digest, layer1.digest, img.manifestDigest]);
  });

  test('a blob cut mid-stream is resumed without unpacking too', async () => {
    proxy.addRule({ method: 'GET', path: blobPath(layer1.digest), fault: { kind: 'cut', afterBytes: 7 }, times: 1 });
    const mark = proxy.seen.length;
    const root = freshRoot();
    await pullInto(root, ref(), { ...fast, unpack: false });
    const gets = since(mark).filter((s) => s.path.endsWith(layer1.digest));
    assert.equal(gets.length, 2);
    assert.equal(gets[0]!.range, undefined);
    const resumeAt = rangeStart(gets[1]!.range);
    assert.ok(resumeAt > 0 && resumeAt <= 7, `resumed at ${resumeAt}`);
    assert.equal(gets[1]!.bytes, layer1.size - resumeAt);
    await verifyBlobs(root, [layer1.digest]);
  });

  test('transient 5xx and dropped connections are retried and the pull succeeds', async () => {
    proxy.addRule({ method: 'GET', path: /\/manifests\/v1$/, fault: { kind: 'status', status: 503 }, times: 2 });
    proxy.addRule({ method: 'GET', path: blobPath(img.manifest.config.digest), fault: { kind: 'reset' }, times: 2 });
    proxy.addRule({ method: 'GET', path: blobPath(layer0.digest), fault: { kind: 'status', status: 500 }, times: 3 });
    const mark = proxy.seen.length;
    const root = freshRoot();
    const res = await pullInto(root, ref(), fast);
    assert.equal(res.digest, img.manifestDigest);
    const seen = since(mark);
    assert.deepEqual(seen.filter((s) => s.path.endsWith('/manifests/v1')).map((s) => s.status), [503, 503, 200]);
    assert.deepEqual(seen.filter((s) => s.path.endsWith(img.manifest.config.digest)).map((s) => s.fault ?? s.status), ['reset', 'reset', 200]);
    assert.deepEqual(seen.filter((s) => s.path.endsWith(layer0.digest)).map((s) => s.status), [500, 500, 500, 200]);
    assert.deepEqual((await storeState(root)).images, [`${proxy.host}/test/busybox:v1`]);
  });

  test('a permanent 503 on a layer: one clear line (CLI exit 7), nothing recorded or committed', async () => {
    proxy.addRule({ method: 'GET', path: blobPath(layer1.digest), fault: { kind: 'status', status: 503 }, times: Infinity });
    const mark = proxy.seen.length;
    const name = `fault-cli-${++n}`;
    try {
      const r = await berth(['--root', join(work, name), '--config', join(work, `${name}-config`), 'pull', ref()]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^berth: registry ${proxy.host} failed on blob ${layer1.digest}: HTTP 503 \\(UNAVAILABLE: injected by the fault proxy\\)$`, 'm'));
    } finally {
      proxy.clearRules();
    }
    // The default policy: the first try and 3 retries.
    assert.equal(since(mark).filter((s) => s.path.endsWith(layer1.digest)).length, 4);
    const state = await storeState(join(work, name));
    assert.deepEqual(state.images, []);
    assert.deepEqual(state.blobs, [], 'no committed blob is left');
    assert.deepEqual(state.snapshots, []);
    assert.deepEqual(state.snapshotDirs, []);
    assert.deepEqual(state.ingests, [], 'nothing was received, so nothing waits to be resumed');
  });

  test('a download that keeps breaking fails cleanly; its partial ingest is resumed by the next pull', async () => {
    proxy.addRule({ method: 'GET', path: blobPath(layer0.digest), fault: { kind: 'cut', afterBytes: 50_000 }, times: 1 });
    proxy.addRule({ method: 'GET', path: blobPath(layer0.digest), fault: { kind: 'reset' }, times: Infinity });
    const root = freshRoot();
    let err: BerthError;
    try {
      err = await pullFails(root, ref(), fast);
    } finally {
      proxy.clearRules();
    }
    assert.equal(err.kind, 'unavailable');
    assert.match(err.describe(), new RegExp(`^cannot reach registry ${proxy.host} at ${proxy.url} \\(blob ${layer0.digest}\\): other side closed \\(connect, UND_ERR_SOCKET\\)$`));
    let state = await storeState(root);
    assert.deepEqual(state.images, []);
    assert.deepEqual(state.blobs, []);
    assert.deepEqual(state.snapshots, []);
    assert.deepEqual(state.snapshotDirs, []);
    // The contract (pull.ts): an interrupted download stays in ingest/ for the next pull to resume.
    assert.deepEqual(state.ingests.map((i) => i.ref), [`pull-${layer0.digest}`]);
    const kept = state.ingests[0]!.offset;
    assert.ok(kept > 0 && kept <= 50_000, `kept ${kept} bytes`);

    const mark = proxy.seen.length;
    await pullInto(root, ref(), fast);
    assert.deepEqual(since(mark).filter((s) => s.path.endsWith(layer0.digest)).map((s) => [s.range, s.status, s.bytes]), [[`bytes=${kept}-`, 206, layer0.size - kept]]);
    state = await storeState(root);
    assert.deepEqual(state.images, [`${proxy.host}/test/busybox:v1`]);
    assert.deepEqual(state.ingests, []);
    await verifyBlobs(root, [layer0.digest]);
  });

  test('a body that stalls once is abandoned after the idle timeout and resumed', async () => {
    proxy.addRule({ method: 'GET', path: blobPath(layer0.digest), fault: { kind: 'stall', afterBytes: 30_000 }, times: 1 });
    const mark = proxy.seen.length;
    const root = freshRoot();
    const t0 = Date.now();
    await pullInto(root, ref(), stalling);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= STALL_MS && elapsed < 10 * STALL_MS, `took ${elapsed} ms`);
    assert.deepEqual(since(mark).filter((s) => s.path.endsWith(layer0.digest)).map((s) => [s.fault, s.range]), [['stall', undefined], [undefined, 'bytes=30000-']]);
    await verifyBlobs(root, [layer0.digest]);
  });

  test('a body that always stalls fails within a bounded time with a clear error, connections closed', async () => {
    proxy.addRule({ method: 'GET', path: blobPath(layer0.digest), fault: { kind: 'stall', afterBytes: 30_000 }, times: 1 });
    proxy.addRule({ method: 'GET', path: blobPath(layer0.digest), fault: { kind: 'stall', afterBytes: 0 }, times: Infinity });
    const mark = proxy.seen.length;
    const root = freshRoot();
    const t0 = Date.now();
    let err: BerthError;
    try {
      err = await pullFails(root, ref(), { ...stalling, retries: 2 });
    } finally {
      proxy.clearRules();
    }
    const elapsed = Date.now() - t0;
    // 3 stalls, plus connection set-up and back-off.
    assert.ok(elapsed >= 3 * STALL_MS && elapsed < 10 * STALL_MS, `took ${elapsed} ms`);
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.message, `registry ${proxy.host} sent no data for ${STALL_MS} ms (blob ${layer0.digest} at byte 30000)`);
    const stalls = since(mark).filter((s) => s.path.endsWith(layer0.digest));
    assert.deepEqual(stalls.map((s) => [s.range, s.bytes]), [[undefined, 30_000], ['bytes=30000-', 0], ['bytes=30000-', 0]]);
    await waitFor(() => stalls.every((s) => s.closed), 'the client closes every stalled connection');
    const state = await storeState(root);
    assert.deepEqual([state.images, state.blobs, state.snapshots, state.snapshotDirs], [[], [], [], []]);
    assert.deepEqual(state.ingests, [{ ref: `pull-${layer0.digest}`, offset: 30_000 }]);
  });

  /** A pull whose manifest request always meets `fault`: its error and how long it took to fail. */
  async function timedFailure(fault: Fault): Promise<{ err: BerthError; elapsed: number }> {
    proxy.addRule({ method: 'GET', path: /\/manifests\/v1$/, fault, times: Infinity });
    const t0 = Date.now();
    try {
      return { err: await pullFails(freshRoot(), ref(), { ...stalling, retries: 1 }), elapsed: Date.now() - t0 };
    } finally {
      proxy.clearRules();
    }
  }

  test('a registry that never answers fails within a bounded time', async () => {
    const { err, elapsed } = await timedFailure({ kind: 'stall-headers' });
    assert.ok(elapsed >= 2 * STALL_MS && elapsed < 10 * STALL_MS, `took ${elapsed} ms`);
    assert.match(err.message, new RegExp(`registry ${proxy.host}.*image ${proxy.host}/test/busybox:v1.*timed out`));
  });

  test('a manifest body that stalls fails within a bounded time', { timeout: 30_000 }, async () => {
    const mark = proxy.seen.length;
    const { err, elapsed } = await timedFailure({ kind: 'stall', afterBytes: 10 });
    assert.ok(elapsed >= STALL_MS && elapsed < 10 * STALL_MS, `took ${elapsed} ms`);
    assert.equal(err.message, `registry ${proxy.host} sent no data for ${STALL_MS} ms (image ${proxy.host}/test/busybox:v1)`);
    await waitFor(() => since(mark).every((s) => s.closed), 'the client closes the stalled connection');
  });

  /** A store holding the test image, pulled straight from the registry (no mount source on the proxy's domain). */
  async function storeWithImage(): Promise<string> {
    const root = freshRoot();
    await pullInto(root, `${registry.host}/test/busybox:v1`, { ...fast, unpack: false });
    return root;
  }
  const uploadPut = (d: string) => new RegExp(`/blobs/uploads/[^?]*\\?.*digest=${encodeURIComponent(d)}`);

  test('transient failures while pushing are retried: a blob PUT, a chunk PATCH, the manifest PUT', async () => {
    const root = await storeWithImage();
    const repo = `test/pushed-${n}`;
    proxy.addRule({ method: 'PUT', path: uploadPut(img.manifest.config.digest), fault: { kind: 'status', status: 503 }, times: 1 });
    proxy.addRule({ method: 'PATCH', path: new RegExp(`/${repo}/blobs/uploads/`), fault: { kind: 'reset' }, times: 1 });
    proxy.addRule({ method: 'PUT', path: new RegExp(`/${repo}/manifests/v1$`), fault: { kind: 'status', status: 502 }, times: 1 });
    const mark = proxy.seen.length;
    const store = ImageStore.open(root);
    try {
      // Layer 0 goes up in 64 KiB chunks, so that a PATCH can fail.
      const res = await pushImage(store, `${registry.host}/test/busybox:v1`, `${proxy.host}/${repo}:v1`, { retries: 3, retryDelayMs: 10, idleTimeoutMs: 5_000, dockerConfig: null, monolithicUploadMax: 100_000, chunkSize: 65_536 });
      assert.equal(res.digest, img.manifestDigest);
    } finally {
      store.close();
    }
    const seen = since(mark);
    assert.deepEqual(seen.filter((s) => s.method === 'PUT' && uploadPut(img.manifest.config.digest).test(s.path)).map((s) => s.status), [503, 201]);
    assert.equal(seen.filter((s) => s.method === 'PATCH' && s.fault === 'reset').length, 1);
    assert.deepEqual(seen.filter((s) => s.method === 'PUT' && s.path.endsWith(`/${repo}/manifests/v1`)).map((s) => s.status), [502, 201]);
    // What the registry now serves is the image, byte for byte.
    const pulled = await pullInto(freshRoot(), `${registry.host}/${repo}:v1`, { ...fast, unpack: false });
    assert.equal(pulled.manifestDigest, img.manifestDigest);
  });

  test('a push that keeps failing: one clear line (CLI exit 7), no manifest in the registry', async () => {
    const root = await storeWithImage();
    const repo = `test/never-${n}`;
    proxy.addRule({ method: 'PUT', path: uploadPut(layer1.digest), fault: { kind: 'status', status: 503 }, times: Infinity });
    const mark = proxy.seen.length;
    try {
      const r = await berth(['--root', root, '--config', join(work, `push-fail-${n}-config`), 'push', `${registry.host}/test/busybox:v1`, `${proxy.host}/${repo}:v1`]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^berth: registry ${proxy.host} failed on upload of blob ${layer1.digest}: HTTP 503`, 'm'));
    } finally {
      proxy.clearRules();
    }
    // The default policy: the first try and 3 retries, each a new upload session.
    assert.equal(since(mark).filter((s) => s.method === 'PUT' && uploadPut(layer1.digest).test(s.path)).length, 4);
    assert.equal(since(mark).filter((s) => s.path.includes(`/${repo}/manifests/`) && s.method === 'PUT').length, 0, 'no manifest was put');
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/v1`, { method: 'HEAD' });
    assert.equal(res.status, 404);
  });
});

describe('bearer tokens from a token service, verified by docker-registry (auth: token)', () => {
  let tokens: TokenServer;
  let registry: TestRegistry;
  let proxy: FaultProxy;
  const savedDockerConfig = process.env.DOCKER_CONFIG;
  const cli = (name: string, args: string[], stdin = '') => berth(['--root', join(work, `tok-${name}`), '--config', join(work, `tok-${name}-config`), ...args], stdin);
  const tokensSince = (mark: number) => tokens.requests.slice(mark);

  before(async () => {
    // No credentials from the host's Docker config leak into these tests.
    process.env.DOCKER_CONFIG = join(work, 'no-docker-config');
    tokens = await startTokenServer({
      users: {
        alice: { password: 's3cret', actions: ['pull', 'push'] },
        bob: { password: 'b0b', actions: ['pull'] },
        carol: { password: 'c4rol', actions: ['pull', 'push'], repositories: ['carol/'] },
      },
    });
    registry = await startTokenAuthRegistry(tokens);
    // Asynchronously: skopeo asks this process's token service for its push token.
    await execFileAsync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--preserve-digests', '--dest-creds', 'alice:s3cret', `oci:${join(work, 'layout')}:v1`, `docker://${registry.host}/test/busybox:v1`]);
    // The client talks to the registry through a (fault-free) proxy that records each request.
    proxy = await startFaultProxy(registry.url);
  });
  after(async () => {
    if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = savedDockerConfig;
    await proxy?.stop();
    await registry?.stop();
    await tokens?.stop();
  });

  test('anonymous pull: the token service refuses, one clear line, nothing stored', async () => {
    const mark = tokens.requests.length;
    const r = await cli('anon', ['pull', `${proxy.host}/test/busybox:v1`]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `berth: registry ${proxy.host} refused authentication: the token service requires credentials (use \`berth login\`)\n`);
    assert.deepEqual(tokensSince(mark).map((t) => [t.user, t.scopes, t.status]), [[undefined, ['repository:test/busybox:pull'], 401]]);
    const state = await storeState(join(work, 'tok-anon'));
    assert.deepEqual([state.images, state.blobs, state.snapshots, state.ingests], [[], [], [], []]);
  });

  test('berth login checks the credentials with the token service', async () => {
    let r = await cli('alice', ['login', '-u', 'alice', '--password-stdin', proxy.host], 'wrong\n');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^berth: registry ${proxy.host} refused authentication: the token service rejected the stored credentials\n$`));
    assert.equal(existsSync(join(work, 'tok-alice-config', 'auth.json')), false);
    const mark = tokens.requests.length;
    r = await cli('alice', ['login', '-u', 'alice', '--password-stdin', proxy.host], 's3cret\n');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(tokensSince(mark).map((t) => [t.user, t.status]), [['alice', 200]]);
  });

  test('pull with the stored login: one token, reused for every request of the pull', async () => {
    const tokenMark = tokens.requests.length;
    const mark = proxy.seen.length;
    const r = await cli('alice', ['pull', '-q', `${proxy.host}/test/busybox:v1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(tokensSince(tokenMark).map((t) => [t.user, t.service, t.scopes, t.status]), [['alice', tokens.service, ['repository:test/busybox:pull'], 200]]);
    const seen = proxy.seen.slice(mark);
    // The first request meets the challenge; every later one carries the same token.
    assert.equal(seen[0]!.status, 401);
    assert.equal(seen[0]!.authorization, undefined);
    const authed = seen.slice(1);
    assert.ok(authed.length >= 2 + img.layers.length, `manifest, config and ${img.layers.length} layers: ${authed.length} requests`);
    assert.ok(authed.every((s) => s.status === 200 && s.authorization?.startsWith('Bearer ')));
    assert.equal(new Set(authed.map((s) => s.authorization)).size, 1);
    const state = await storeState(join(work, 'tok-alice'));
    assert.deepEqual(state.images, [`${proxy.host}/test/busybox:v1`]);
  });

  test('push asks for a push scope, fetches each scope set once, and the registry accepts it', async () => {
    assert.equal((await cli('alice', ['tag', `${proxy.host}/test/busybox:v1`, `${proxy.host}/other/copy:v1`])).code, 0);
    const tokenMark = tokens.requests.length;
    const r = await cli('alice', ['push', `${proxy.host}/other/copy:v1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').pop(), `${proxy.host}/other/copy:v1@${img.manifestDigest}`);
    const asked = tokensSince(tokenMark);
    assert.ok(asked.length >= 1);
    assert.ok(asked.every((t) => t.user === 'alice' && t.status === 200 && t.scopes.includes('repository:other/copy:pull,push')));
    const sets = asked.map((t) => [...t.scopes].sort().join(' '));
    assert.equal(new Set(sets).size, sets.length, `a scope set was fetched twice: ${sets.join(' | ')}`);
    // Read it back through the registry's own token check.
    const tr = await fetch(`${tokens.realm}?service=${tokens.service}&scope=repository:other/copy:pull`, { headers: { authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` } });
    const { token } = (await tr.json()) as { token: string };
    const head = await fetch(`${registry.url}/v2/other/copy/manifests/v1`, { method: 'HEAD', headers: { authorization: `Bearer ${token}`, accept: img.manifest.mediaType! } });
    assert.equal(head.headers.get('docker-content-digest'), img.manifestDigest);
  });

  test('a user granted pull only cannot push: one clear line', async () => {
    assert.equal((await cli('bob', ['login', '-u', 'bob', '--password-stdin', proxy.host], 'b0b\n')).code, 0);
    assert.equal((await cli('bob', ['pull', '-q', `${proxy.host}/test/busybox:v1`])).code, 0);
    assert.equal((await cli('bob', ['tag', `${proxy.host}/test/busybox:v1`, `${proxy.host}/bob/copy:v1`])).code, 0);
    const r = await cli('bob', ['push', `${proxy.host}/bob/copy:v1`]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^berth: registry ${proxy.host.replace(/\./g, '\\.')} denied upload of blob sha256:[0-9a-f]{64}: the token service did not grant repository:bob/copy:(pull,push|push,pull) to user bob\n$`));
  });

  test('a cross-repository mount the token does not allow falls back to an upload', async () => {
    // carol may push to carol/* but not read test/busybox, where alice's store says the blobs came from.
    const root = join(work, 'tok-alice');
    const carol = (args: string[], stdin = '') => berth(['--root', root, '--config', join(work, 'tok-carol-config'), ...args], stdin);
    assert.equal((await carol(['login', '-u', 'carol', '--password-stdin', proxy.host], 'c4rol\n')).code, 0);
    assert.equal((await carol(['tag', `${proxy.host}/test/busybox:v1`, `${proxy.host}/carol/copy:v1`])).code, 0);
    const mark = proxy.seen.length;
    const r = await carol(['push', `${proxy.host}/carol/copy:v1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /mounted/);
    const seen = proxy.seen.slice(mark);
    assert.ok(seen.some((s) => s.method === 'POST' && s.path.includes('mount=') && s.status === 401), 'a mount was tried and refused');
    assert.ok(seen.some((s) => s.method === 'PUT' && s.path.includes('/v2/carol/copy/blobs/uploads/') && s.status === 201), 'the blobs were uploaded');
    assert.ok(seen.some((s) => s.method === 'PUT' && s.path === '/v2/carol/copy/manifests/v1' && s.status === 201));
  });
});

describe('a store that runs out of disk space mid-pull', () => {
  let registry: TestRegistry;
  let mnt: string | undefined;
  // 6 MiB of random bytes do not compress: the layer is bigger than the 4 MiB filesystem.
  const big = buildImage({ layers: [[{ name: 'big.bin', type: 'file', data: randomBytes(6 * 1024 * 1024), mtime: 1700000000 }]], cmd: ['/big'] });
  const small = buildImage({ layers: [[{ name: 'hello', type: 'file', data: 'hello\n', mtime: 1700000000 }]], cmd: ['/hello'] });

  before(async () => {
    registry = await startRegistry();
    for (const [name, image] of [['big', big], ['small', small]] as const) {
      writeOciLayout(image, join(work, `${name}-layout`), 'v1');
      skopeoCopy(`oci:${join(work, `${name}-layout`)}:v1`, `docker://${registry.host}/test/${name}:v1`, ['--preserve-digests']);
    }
    const dir = join(work, 'tiny');
    mkdirSync(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'berth-test-tiny', dir]);
    mnt = dir;
  });
  after(async () => {
    if (mnt) execFileSync('umount', ['-l', mnt]);
    await registry?.stop();
  });

  for (const unpack of [true, false]) {
    test(`ENOSPC ${unpack ? 'while unpacking' : 'while downloading'}: one clear line, nothing half-written left to fill the disk`, async () => {
      const root = join(mnt!, `store-${unpack}`);
      try {
        await pullFailsOutOfSpace(root, unpack);
        await checkNothingLeft(root);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }

  async function pullFailsOutOfSpace(root: string, unpack: boolean): Promise<void> {
    const err = await pullFails(root, `${registry.host}/test/big:v1`, { retryDelayMs: 10, unpack });
    assert.equal(err.kind, 'resource-exhausted', err.describe());
    // Streamed unpacking writes the download and the extracted file side by side: either may hit the
    // limit, the kernel's or (more likely) berth's free-space reserve just before it.
    const enospc = `no space left on device( \\(stopped with [0-9.]+ KiB free, below the 512 KiB kept free for the store\\))? \\(ENOSPC\\)`;
    const inIngest = `write ${root}/content/ingest/[0-9a-f]{64}/data: ${enospc}`;
    const inLayer = `layer ${big.layers[0]!.descriptor.digest}: layer entry "big.bin": (write failed: )?${enospc}`;
    assert.match(err.describe(), new RegExp(unpack ? `^(${inIngest}|${inLayer})$` : `^${inIngest}$`));
  }

  async function checkNothingLeft(root: string): Promise<void> {
    const state = await storeState(root);
    assert.deepEqual(state.images, []);
    assert.ok(!state.blobs.includes(big.layers[0]!.descriptor.digest), 'the layer is not committed');
    assert.deepEqual(state.blobs, []);
    assert.deepEqual(state.snapshots, []);
    assert.deepEqual(state.snapshotDirs, []);
    assert.deepEqual(state.ingests, [], 'a partial download of a layer that does not fit is not kept');
    // The space is free again: a small image pulls into the same store.
    const fs = statfsSync(mnt!);
    assert.ok(fs.bfree * fs.bsize > 3 * 1024 * 1024, `only ${fs.bfree * fs.bsize} bytes free`);
    const res = await pullInto(root, `${registry.host}/test/small:v1`);
    assert.equal(res.digest, small.manifestDigest);
  }
});
