// berthd driven by a Go gRPC client, as the kubelet and crictl drive a runtime: the client is
// built at test time, offline, from Debian's golang-go and golang-google-grpc-dev (GOPATH mode
// over /usr/share/gocode) with code protoc generates from berth's own api.proto. Each run keeps
// one connection for all its steps, with the three :authority values Go clients send.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { CRI_PROTO_PATH, loadCri } from '../../../src/cri/proto-load.ts';
import { startRegistry, skopeoCopy, type TestRegistry } from '../../fixtures/image/registry.ts';
import { buildImage, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { startBerthd, type RunningBerthd } from '../../support/berthd.ts';

const here = dirname(fileURLToPath(import.meta.url));
const execFileAsync = promisify(execFile);
let work: string;
let client: string;
let registry: TestRegistry;
let d: RunningBerthd;
const pause = buildImage({ user: '65535', cmd: ['/bin/sleep', 'infinity'] });

/** Generates the Go bindings and builds the client; returns the binary. */
function buildGoClient(dir: string): string {
  const gopath = join(dir, 'gopath');
  const api = join(gopath, 'src/k8s.io/cri-api/pkg/apis/runtime/v1');
  const main = join(gopath, 'src/cri-go-client');
  mkdirSync(api, { recursive: true });
  mkdirSync(main, { recursive: true });
  // protoc 3.21 predates the debug_redact field option (a log-redaction hint, not wire format).
  const proto = join(dir, 'api.proto');
  writeFileSync(proto, readFileSync(CRI_PROTO_PATH, 'utf8').replace(/\s*\[debug_redact\s*=\s*true\]/g, ''));
  execFileSync('protoc', [`--proto_path=${dir}`, `--go_out=plugins=grpc,paths=source_relative:${api}`, proto], { stdio: ['ignore', 'ignore', 'pipe'] });
  copyFileSync(resolve(here, '../../fixtures/cri/go-client/main.go'), join(main, 'main.go'));
  const bin = join(dir, 'cri-go-client');
  execFileSync('go', ['build', '-o', bin, '.'], {
    cwd: main,
    stdio: ['ignore', 'ignore', 'pipe'],
    // Debian's Go sources, no module proxy, no network; the build cache survives between runs.
    env: { ...process.env, GOPATH: `${gopath}:/usr/share/gocode`, GO111MODULE: 'off', GOPROXY: 'off', GOFLAGS: '', GOCACHE: join(tmpdir(), 'berth-test-gocache') },
  });
  return bin;
}

interface Step {
  step: string;
  code: string;
  error?: string;
  result?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function run(authority: string, ...steps: string[]): Step[] {
  const out = execFileSync(client, ['-socket', d.socket, '-authority', authority, ...steps], { encoding: 'utf8', timeout: 180_000 });
  return out.trim().split('\n').map((l) => JSON.parse(l) as Step);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'berthd-go-'));
  client = buildGoClient(work);
  registry = await startRegistry();
  writeOciLayout(pause, join(work, 'pause'), 'v');
  skopeoCopy(`oci:${join(work, 'pause')}:v`, `docker://${registry.host}/k8s/pause:3.9`, ['--preserve-digests']);
  d = await startBerthd({ registriesConf: `[[registry]]\nprefix = "registry.k8s.io"\nlocation = "${registry.host}/k8s"\ninsecure = true\n` });
});

after(async () => {
  await d?.stop();
  d?.cleanup();
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a Go client sending the socket path as :authority: version, status, the image service end to end on one connection', () => {
  const id = pause.manifest.config.digest;
  const digestRef = `registry.k8s.io/pause@${pause.manifestDigest}`;
  const steps = run('path', 'version', 'status', 'runtime-config', 'unimplemented', 'list', 'pull=registry.k8s.io/pause:3.9', `image=${id}`, 'image=registry.k8s.io/pause:3.9', `image=${digestRef}`, 'list', 'fsinfo', 'remove=registry.k8s.io/pause:3.9', 'remove=registry.k8s.io/pause:3.9', `image=${id}`, 'list');
  const by = (i: number) => steps[i]!;
  for (const [i, s] of steps.entries()) if (s.step !== 'unimplemented') assert.equal(s.code, 'OK', `${i} ${s.step}: ${s.error}`);
  assert.deepEqual(by(0).result, { version: '0.1.0', runtime_name: 'berth', runtime_version: '0.1.0', runtime_api_version: 'v1' });
  const conditions = by(1).result.status.conditions as Array<{ type: string; status?: boolean; reason?: string }>;
  assert.equal(conditions.find((c) => c.type === 'RuntimeReady')?.status, true);
  assert.equal(conditions.find((c) => c.type === 'NetworkReady')?.reason, 'NetworkPluginNotReady');
  assert.equal(by(2).result.linux.cgroup_driver, 1, 'CGROUPFS');
  assert.equal(by(3).code, 'Unimplemented');
  assert.match(by(3).error!, /CheckpointContainer is not implemented/);
  assert.deepEqual(by(4).result, {});
  assert.equal(by(5).result.image_ref, id);
  const image = by(6).result.image;
  assert.deepEqual(by(7).result, by(6).result);
  assert.deepEqual(by(8).result, by(6).result);
  assert.equal(image.id, id);
  assert.deepEqual(image.repo_tags, ['registry.k8s.io/pause:3.9']);
  assert.deepEqual(image.repo_digests, [digestRef]);
  assert.deepEqual(image.uid, { value: 65535 });
  assert.equal(by(9).result.images.length, 1);
  const fs = by(10).result.image_filesystems[0];
  assert.ok(fs.used_bytes.value > 0 && fs.inodes_used.value > 0 && fs.timestamp > 1e18, JSON.stringify(fs));
  assert.deepEqual(by(13).result, {}, 'a removed image: an empty ImageStatus');
  assert.deepEqual(by(14).result, {});
});

test('berthd logs each of the Go client\'s calls', async () => {
  await d.waitForLog(/level=debug msg=rpc method=\/runtime\.v1\.ImageService\/PullImage duration_ms=[0-9.]+ code=OK/);
  await d.waitForLog(/level=info msg="rpc failed" method=\/runtime\.v1\.RuntimeService\/CheckpointContainer .*code=UNIMPLEMENTED/);
});

test('why berthd rewrites :authority: a bare grpc-js server resets the Go client\'s stream', async () => {
  const cri = loadCri();
  const server = new grpc.Server();
  server.addService(cri.runtimeService, { Version: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, { version: '0.1.0', runtime_name: 'bare', runtime_version: '0', runtime_api_version: 'v1' }) });
  const socket = join(work, 'bare.sock');
  await new Promise<void>((res, rej) => server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  try {
    // Asynchronously: the server runs in this process.
    const runOn = async (authority: string) => JSON.parse((await execFileAsync(client, ['-socket', socket, '-authority', authority, 'version'], { encoding: 'utf8' })).stdout) as Step;
    const refused = await runOn('path');
    assert.equal(refused.code, 'Internal');
    assert.match(refused.error!, /RST_STREAM with error code: PROTOCOL_ERROR/);
    assert.equal((await runOn('localhost')).code, 'OK', 'the same server answers when the authority is a host name');
  } finally {
    server.forceShutdown();
  }
});

test('the authorities newer Go clients send (localhost, the percent-encoded path) work too', () => {
  for (const authority of ['localhost', 'encoded']) {
    const steps = run(authority, 'version', 'version', 'list', 'image=registry.k8s.io/pause:3.9');
    assert.deepEqual(steps.map((s) => s.code), ['OK', 'OK', 'OK', 'OK'], `${authority}: ${JSON.stringify(steps)}`);
    assert.equal(steps[1]!.result.runtime_name, 'berth');
  }
});

test('the Go client gets InvalidArgument for an empty image name; the daemon stays up', () => {
  const steps = run('path', 'pull=', 'image=', 'remove=', 'version');
  assert.deepEqual(steps.map((s) => s.code), ['InvalidArgument', 'InvalidArgument', 'InvalidArgument', 'OK']);
  assert.match(steps[0]!.error!, /image\.image: required/);
});

test('a pod lifecycle from the Go client: run, create, start, exec, list, status, stop, remove', () => {
  const logs = join(work, 'pod-logs');
  // The node's network (no CNI here); its own PID namespace per container.
  const pod = { metadata: { name: 'go-pod', namespace: 'default', uid: 'go-pod-uid', attempt: 0 }, hostname: 'go-pod', log_directory: logs, labels: { from: 'go' }, linux: { security_context: { namespace_options: { network: 2, pid: 1 } } } };
  const container = { metadata: { name: 'sleeper', attempt: 0 }, image: { image: 'registry.k8s.io/pause:3.9' }, command: ['/bin/sh', '-c', 'echo started; exec sleep 3600'], log_path: 'sleeper/0.log', labels: { c: 'sleeper' } };
  const steps = run('localhost', 'pull=registry.k8s.io/pause:3.9', `runp=${JSON.stringify(pod)}`, `create=${JSON.stringify(container)}`, 'containers', 'start', 'exec=/bin/sh,-c,echo out; echo err >&2; exit 3', 'containers', 'cstatus', 'stopp', 'cstatus', 'rmp', 'containers', 'rmp');
  for (const [i, s] of steps.entries()) assert.equal(s.code, 'OK', `${i} ${s.step}: ${s.error}`);
  const [, runp, create, created, , exec, running, status, , stopped, , gone] = steps.map((s) => s.result);
  assert.match(runp.pod_sandbox_id, /^[0-9a-f]{64}$/);
  assert.match(create.container_id, /^[0-9a-f]{64}$/);
  assert.deepEqual(created.containers.map((c: { id: string; state?: number }) => [c.id, c.state ?? 0]), [[create.container_id, 0]], 'CONTAINER_CREATED');
  assert.equal(Buffer.from(exec.stdout, 'base64').toString(), 'out\n');
  assert.equal(Buffer.from(exec.stderr, 'base64').toString(), 'err\n');
  assert.equal(exec.exit_code, 3);
  assert.equal(running.containers[0].state, 1, 'CONTAINER_RUNNING');
  assert.equal(running.containers[0].pod_sandbox_id, runp.pod_sandbox_id);
  assert.deepEqual(running.containers[0].labels, { c: 'sleeper' });
  assert.equal(status.status.state, 1);
  assert.equal(status.status.log_path, join(logs, 'sleeper/0.log'));
  assert.ok(JSON.parse(status.info.info).pid > 0, status.info.info);
  assert.equal(stopped.status.state, 2, 'CONTAINER_EXITED after StopPodSandbox');
  assert.ok(Number(stopped.status.finished_at) > 0);
  assert.deepEqual(gone, {}, 'no containers after RemovePodSandbox');
  assert.match(readFileSync(join(logs, 'sleeper/0.log'), 'utf8'), /^\S+ stdout F started$/m);
});
