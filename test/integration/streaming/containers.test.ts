// The streaming server over real containers (ContainerService, berth's runtime): exec with pipes
// and with a tty, attach through the monitor, port-forward into a pinned network namespace with
// busybox httpd in it; from berth's SPDY test client and from the Go interop client, over SPDY
// and WebSocket; and the faults: a vanished client, a container that exits under its attach,
// 100 concurrent execs, bad tokens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerService, type CreateRequest } from '../../../src/containers/index.ts';
import { ImageStore } from '../../../src/image/image-store.ts';
import { importRootfsTar } from '../../../src/image/import-rootfs.ts';
import { imageConfigToSpec } from '../../../src/image/runtime-config.ts';
import { imageContainerBaseSpec } from '../../../src/runtime/default-spec.ts';
import { pinNamespaces, unpinNamespaces, type PinnedNamespaces } from '../../../src/runtime/namespace-pins.ts';
import type { Spec } from '../../../src/oci/runtime-spec.ts';
import { ContainerStreamingBackend } from '../../../src/cri/streaming/container-backend.ts';
import type { StreamingLookup } from '../../../src/cri/streaming/streaming-lookup.ts';
import { StreamingServer } from '../../../src/cri/streaming/streaming-server.ts';
import { connectSpdy, openStreams, spdyUpgrade } from '../../support/spdy-test-client.ts';
import { buildGoStreamingClient, runGoClient } from '../../support/go-streaming-client.ts';
import { repoRoot } from '../../support/cli.ts';

const IMAGE = 'localhost/streaming-test:1';
const POD = 'pod-streaming';
let work: string;
let store: ImageStore;
let service: ContainerService;
let server: StreamingServer;
let pins: PinnedNamespaces = {};
let goClient = '';
let seq = 0;
/** A long-running container in the pod's network namespace, serving HTTP on :8080. */
let web = '';

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-test-streaming-'));
  const root = join(work, 'store');
  const tarball = join(work, 'busybox.tar.gz');
  execFileSync(join(repoRoot, 'scripts/make-busybox-rootfs.sh'), [tarball]);
  store = ImageStore.open(root);
  await importRootfsTar(store, tarball, IMAGE, { cmd: ['sh'], env: ['PATH=/bin'] });
  service = ContainerService.open({ root, images: store, watch: true });
  pins = await pinNamespaces({ dir: join(work, 'pod'), namespaces: ['network'] });
  execFileSync('nsenter', [`--net=${pins.network}`, 'ip', 'link', 'set', 'lo', 'up']);
  const lookup: StreamingLookup = {
    container: () => ({ state: 'running', podSandboxId: POD }),
    pod: (id) => (id === POD ? { ready: true, netnsPath: pins.network } : undefined),
  };
  server = new StreamingServer({ backend: new ContainerStreamingBackend({ containers: service, lookup }), streamCreationTimeoutMs: 5000 });
  await server.start();
  web = await run(['sh', '-c', 'mkdir -p /www && echo "hello from the pod" > /www/index.html && exec httpd -f -p 8080 -h /www'], (s) => {
    s.linux!.namespaces = [...(s.linux!.namespaces ?? []).filter((n) => n.type !== 'network'), { type: 'network', path: pins.network }];
  });
  goClient = buildGoStreamingClient(work);
});

after(async () => {
  await server?.stop();
  for (const c of service?.list() ?? []) await service.remove(c.id, { force: true }).catch(() => undefined);
  service?.close();
  store?.close();
  await unpinNamespaces(pins).catch(() => undefined);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (work && mp?.startsWith(work)) execFileSync('umount', ['-l', mp]);
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Creates and starts a container running `args`; its id. */
async function run(args: string[], mutate?: (s: Spec) => void, extra: Partial<CreateRequest> = {}): Promise<string> {
  const { record } = await service.create({
    image: IMAGE, name: `stream-${process.pid}-${seq++}`, ...extra,
    spec: (prepared, { id }) => {
      const spec = imageConfigToSpec(prepared.imageConfig, { cmd: args, hostname: id.slice(0, 12), terminal: false }, { base: imageContainerBaseSpec(), resolvedUser: prepared.user });
      mutate?.(spec);
      return spec;
    },
  });
  await service.start(record.id);
  return record.id;
}

const execUrl = (containerId: string, cmd: string[], o: { stdin?: boolean; stderr?: boolean; tty?: boolean } = {}): string =>
  server.getExec({ containerId, cmd, stdin: o.stdin ?? false, stdout: true, stderr: o.stderr ?? false, tty: o.tty ?? false }).url;

const connect = connectSpdy;

/** The pids of processes with `marker` as one of their arguments (in any namespace: from the host's /proc). */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker)) found.push(Number(pid));
    } catch {
      // gone
    }
  }
  return found;
}

test('exec with stdin: EOF reaches the process, stdout and stderr apart, Success', async () => {
  const c = await connect(execUrl(web, ['sh', '-c', 'cat; echo bye >&2'], { stdin: true, stderr: true }));
  const s = await openStreams(c, ['error', 'stdin', 'stdout', 'stderr']);
  s.stdin!.write('some input\n');
  s.stdin!.end('more\n');
  assert.equal(await s.stdout!.done(), 'some input\nmore\n');
  assert.equal(await s.stderr!.done(), 'bye\n');
  assert.equal(await s.error!.done(), '{"metadata":{},"status":"Success"}');
});

test('exec: the exit code comes back as NonZeroExitCode', async () => {
  const c = await connect(execUrl(web, ['sh', '-c', 'echo partial; exit 7']));
  const s = await openStreams(c, ['error', 'stdout']);
  assert.equal(await s.stdout!.done(), 'partial\n');
  const status = JSON.parse(await s.error!.done());
  assert.equal(status.reason, 'NonZeroExitCode');
  assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '7' }]);
});

test('exec with a tty: sized before it starts, a resize reaches the pty, typed input echoes', async () => {
  const c = await connect(execUrl(web, ['sh', '-c', 'stty size; read x; stty size; exit 4'], { stdin: true, tty: true }));
  const s = await openStreams(c, ['error', 'stdin', 'stdout', 'resize']);
  s.resize!.write(JSON.stringify({ Width: 100, Height: 30 }));
  await s.stdout!.until(() => s.stdout!.text.includes('30 100'));
  s.resize!.write(JSON.stringify({ Width: 120, Height: 40 }));
  // The resize and the line travel on different streams: wait for the pty to have the size.
  await new Promise((r) => setTimeout(r, 50));
  s.stdin!.write('x\r');
  const out = await s.stdout!.done();
  assert.match(out, /^30 100\r\n.*40 120\r\n$/s);
  assert.match(await s.error!.done(), /"ExitCode","message":"4"/);
});

test('a client that vanishes mid-exec kills its exec and nothing else', async () => {
  const marker = String(100000 + process.pid);
  const other = connect(execUrl(web, ['sh', '-c', `read x; echo survived`], { stdin: true }));
  const c = await connect(execUrl(web, ['sh', '-c', `exec sleep ${marker}`]));
  await openStreams(c, ['error', 'stdout']);
  const o = await openStreams(await other, ['error', 'stdin', 'stdout']);
  for (let i = 0; i < 200 && processesWith(marker).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(processesWith(marker).length > 0, 'the exec runs');
  c.socket.destroy();
  for (let i = 0; i < 500 && processesWith(marker).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(processesWith(marker), [], 'the vanished client\'s exec is killed');
  o.stdin!.end('go\n');
  assert.equal(await o.stdout!.done(), 'survived\n');
  assert.equal(await o.error!.done(), '{"metadata":{},"status":"Success"}');
  assert.equal((await service.inspect(web)).status, 'running');
});

test('100 concurrent execs into one container each get their own output and exit code', async () => {
  const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
    const c = await connect(execUrl(web, ['sh', '-c', `echo out-${i}; exit ${i % 50}`]));
    const s = await openStreams(c, ['error', 'stdout']);
    const [out, err] = await Promise.all([s.stdout!.done(), s.error!.done()]);
    return { i, out, err };
  }));
  for (const { i, out, err } of results) {
    assert.equal(out, `out-${i}\n`);
    if (i % 50 === 0) assert.equal(err, '{"metadata":{},"status":"Success"}');
    else assert.match(err, new RegExp(`"ExitCode","message":"${i % 50}"`));
  }
});

test('attach: stdin into a container created with stdin open, its output back; its exit ends the attach', async () => {
  const id = await run(['sh', '-c', 'read name; echo "hello $name"; exit 3'], undefined, { stdinOpen: true });
  const c = await connect(server.getAttach({ containerId: id, stdin: true, stdout: true, stderr: false, tty: false }).url);
  const s = await openStreams(c, ['error', 'stdin', 'stdout']);
  s.stdin!.write('world\n');
  assert.equal(await s.stdout!.done(), 'hello world\n');
  assert.equal(await s.error!.done(), '{"metadata":{},"status":"Success"}');
  await c.closed;
});

test('port-forward over SPDY to httpd in the pod\'s network namespace; nothing stays behind', async () => {
  const before = processesWith('--netns-connect').length;
  const fds = readdirSync('/proc/self/fd').length;
  const c = await connect(server.getPortForward({ podSandboxId: POD, port: [] }).url, ['portforward.k8s.io']);
  for (const requestId of ['1', '2']) {
    const error = await c.open({ streamtype: 'error', port: '8080', requestid: requestId });
    const data = await c.open({ streamtype: 'data', port: '8080', requestid: requestId });
    data.end('GET /index.html HTTP/1.0\r\n\r\n');
    assert.match(await data.done(), /^HTTP\/1\.[01] 200 OK\r\n[^]*hello from the pod\n$/);
    assert.equal(await error.done(), '');
  }
  c.socket.destroy();
  await c.closed;
  assert.equal(processesWith('--netns-connect').length, before, 'no helper process stays');
  for (let i = 0; i < 100 && readdirSync('/proc/self/fd').length > fds; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(readdirSync('/proc/self/fd').length <= fds, 'no socket stays open');
});

test('unknown, reused and expired tokens get 404', async () => {
  const url = execUrl(web, ['true']);
  const first = await connect(url);
  const s = await openStreams(first, ['error', 'stdout']);
  assert.equal(await s.error!.done(), '{"metadata":{},"status":"Success"}');
  assert.equal((await spdyUpgrade(url, ['v4.channel.k8s.io'])).status, 404, 'reused');
  assert.equal((await spdyUpgrade(url.replace(/[^/]+$/, 'AAAAAAAAAAAAAAAAAAAAAA'), ['v4.channel.k8s.io'])).status, 404, 'unknown');
  const short = new StreamingServer({ backend: new ContainerStreamingBackend({ containers: service, lookup: { container: () => undefined, pod: () => undefined } }), requestTtlMs: 1 });
  await short.start();
  try {
    const stale = short.getExec({ containerId: web, cmd: ['true'], stdin: false, stdout: true, stderr: false, tty: false }).url;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await spdyUpgrade(stale, ['v4.channel.k8s.io'])).status, 404, 'expired');
  } finally {
    await short.stop();
  }
});

test('attach to a tty container: its terminal takes the client\'s size, typed input reaches it', async () => {
  const id = await run(['sh', '-c', 'read x; stty size; read y; stty size'], (spec) => void (spec.process!.terminal = true), { stdinOpen: true });
  const c = await connect(server.getAttach({ containerId: id, stdin: true, stdout: true, stderr: false, tty: true }).url);
  const s = await openStreams(c, ['error', 'stdin', 'stdout', 'resize']);
  s.resize!.write(JSON.stringify({ Width: 91, Height: 21 }));
  // The size frame and the typed line take different streams: the line goes once the size is in.
  await new Promise((r) => setTimeout(r, 100));
  s.stdin!.write('a\r');
  await s.stdout!.until(() => s.stdout!.text.includes('21 91'));
  s.resize!.write(JSON.stringify({ Width: 132, Height: 43 }));
  await new Promise((r) => setTimeout(r, 100));
  s.stdin!.write('b\r');
  assert.match(await s.stdout!.done(), /21 91\r\n[^]*43 132\r\n$/);
  assert.equal(await s.error!.done(), '{"metadata":{},"status":"Success"}');
});

test('runc: exec with stdin and an exit code, a vanished client\'s exec killed', async () => {
  const id = await run(['sleep', '100000'], undefined, { runtime: 'runc' });
  let c = await connect(execUrl(id, ['sh', '-c', 'cat; exit 6'], { stdin: true }));
  let s = await openStreams(c, ['error', 'stdin', 'stdout']);
  s.stdin!.end('through runc\n');
  assert.equal(await s.stdout!.done(), 'through runc\n');
  assert.match(await s.error!.done(), /"ExitCode","message":"6"/);
  const marker = String(200000 + process.pid);
  c = await connect(execUrl(id, ['sh', '-c', `exec sleep ${marker}`]));
  await openStreams(c, ['error', 'stdout']);
  for (let i = 0; i < 300 && processesWith(marker).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(processesWith(marker).length > 0, 'the exec runs');
  c.socket.destroy();
  for (let i = 0; i < 500 && processesWith(marker).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(processesWith(marker), [], 'killed through its pid file');
  assert.equal((await service.inspect(id)).status, 'running');
});

for (const runtime of ['runc', 'crun']) {
  test(`${runtime}: exec with a tty (detached under the reaper): sized, resized, typed input, its exit code, the runtime's failure; a vanished client's tty exec killed`, async (t) => {
    // Debian 12's crun (1.8) refuses ociVersion 1.2.0, which it does not know yet.
    const id = await run(['sleep', '100000'], (spec) => void (spec.ociVersion = '1.1.0'), { runtime }).catch((err: Error) => {
      // crun runs no container at all on a host with hybrid cgroups (v1 controllers plus a v2 mount).
      if (/cgroups in hybrid mode not supported/.test(err.message)) return undefined;
      throw err;
    });
    if (!id) return t.skip(`${runtime} cannot create containers on this host (hybrid cgroups)`);
    let c = await connect(execUrl(id, ['sh', '-c', 'stty size; read x; stty size; exit 5'], { stdin: true, tty: true }));
    const s = await openStreams(c, ['error', 'stdin', 'stdout', 'resize']);
    s.resize!.write(JSON.stringify({ Width: 100, Height: 30 }));
    await s.stdout!.until(() => s.stdout!.text.includes('30 100'));
    s.resize!.write(JSON.stringify({ Width: 120, Height: 40 }));
    await new Promise((r) => setTimeout(r, 50));
    s.stdin!.write('x\r');
    assert.match(await s.stdout!.done(), /^30 100\r\n.*40 120\r\n$/s);
    assert.match(await s.error!.done(), /"ExitCode","message":"5"/);
    // The runtime's own failure (here: no such program) comes back as the error, in its words.
    c = await connect(execUrl(id, ['/no/such/program'], { tty: true }));
    const f = await openStreams(c, ['error', 'stdout', 'resize']);
    f.resize!.write(JSON.stringify({ Width: 80, Height: 24 }));
    const failed = JSON.parse(await f.error!.done());
    assert.equal(failed.status, 'Failure');
    assert.match(failed.message, new RegExp(`${runtime} exec: .*/no/such/program`));
    const marker = String(300000 + process.pid);
    c = await connect(execUrl(id, ['sh', '-c', `exec sleep ${marker}`], { tty: true }));
    const k = await openStreams(c, ['error', 'stdout', 'resize']);
    k.resize!.write(JSON.stringify({ Width: 80, Height: 24 }));
    for (let i = 0; i < 300 && processesWith(marker).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(processesWith(marker).length > 0, 'the tty exec runs');
    c.socket.destroy();
    for (let i = 0; i < 500 && processesWith(marker).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(processesWith(marker), [], 'killed through its pid file');
    assert.equal((await service.inspect(id)).status, 'running');
  });
}

for (const transport of ['spdy', 'ws']) {
  test(`Go client over ${transport}: exec with stdin, an exit code, a tty with resize, attach, port-forward`, async () => {
    const go = (args: string[], input = '') => runGoClient(goClient, ['-transport', transport, ...args], input);
    let r = await go(['-url', execUrl(web, ['sh', '-c', 'cat; echo bye >&2'], { stdin: true, stderr: true }), '-stdin', '-stderr'], 'some input\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'some input\n');
    assert.match(r.stderr, /bye\n$/);
    r = await go(['-url', execUrl(web, ['sh', '-c', 'echo partial; exit 3'])]);
    assert.equal(r.code, 3, r.stderr);
    r = await go(['-url', execUrl(web, ['sh', '-c', 'stty size; read x; stty size; exit 4'], { stdin: true, tty: true }), '-stdin', '-tty', '-resize', '100x30,120x40', '-await', '30 100'], 'x\n');
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /^30 100\r\n.*40 120\r\n$/s);
    const id = await run(['sh', '-c', 'read name; echo "hello $name"'], undefined, { stdinOpen: true });
    r = await go(['-url', server.getAttach({ containerId: id, stdin: true, stdout: true, stderr: false, tty: false }).url, '-stdin'], 'go\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello go\n');
    const pf = server.getPortForward({ podSandboxId: POD, port: transport === 'ws' ? [8080] : [] }).url;
    r = await go(['-url', pf, '-portforward', '-port', '8080', '-requests', '1', '-send', 'GET /index.html HTTP/1.0\\r\\n\\r\\n']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /=== 0\nHTTP\/1\.[01] 200 OK\r\n[^]*hello from the pod\n/);
  });
}
