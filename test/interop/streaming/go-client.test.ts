// berthd's streaming server against a client nobody here wrote: Go with moby/spdystream (the SPDY
// the Kubernetes stack uses) and gorilla/websocket, from Debian's packaged sources, driving exec
// (stdin, tty and resize, exit codes), attach and port-forward over both SPDY and WebSocket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamingServer } from '../../../src/cri/streaming/streaming-server.ts';
import { LocalProcessBackend } from '../../support/local-streaming-backend.ts';
import { buildGoStreamingClient, runGoClient, type GoRun } from '../../support/go-streaming-client.ts';

const work = mkdtempSync(join(tmpdir(), 'berth-streaming-interop-'));
let client = '';
const backend = new LocalProcessBackend();
const server = new StreamingServer({ backend });
const http = createHttpServer((req, res) => res.end(`served ${req.url}`));
let httpPort = 0;

before(async () => {
  client = buildGoStreamingClient(work);
  await server.start();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpPort = (http.address() as AddressInfo).port;
});

after(async () => {
  await server.stop();
  http.close();
  rmSync(work, { recursive: true, force: true });
});

const run = (args: string[], input = ''): Promise<GoRun> => runGoClient(client, args, input);

const execUrl = (cmd: string[], o: { stdin?: boolean; stderr?: boolean; tty?: boolean } = {}) =>
  server.getExec({ containerId: 'c1', cmd, stdin: o.stdin ?? false, stdout: true, stderr: o.stderr ?? false, tty: o.tty ?? false }).url;

for (const transport of ['spdy', 'ws']) {
  test(`${transport}: exec with stdin, EOF, stdout and stderr apart`, async () => {
    const r = await run(['-transport', transport, '-url', execUrl(['sh', '-c', 'cat; echo bye >&2'], { stdin: true, stderr: true }), '-stdin', '-stderr'], 'some input\nmore\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'some input\nmore\n');
    assert.match(r.stderr, /^protocol: v[45]\.channel\.k8s\.io\nbye\n$/);
  });

  test(`${transport}: the exit code comes through`, async () => {
    const r = await run(['-transport', transport, '-url', execUrl(['sh', '-c', 'echo partial; exit 3'])]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'partial\n');
  });

  test(`${transport}: a tty, its first size, a resize`, async () => {
    const r = await run(['-transport', transport, '-url', execUrl(['sh', '-c', 'stty size; read x; stty size; exit 4'], { stdin: true, tty: true }), '-stdin', '-tty', '-resize', '100x30,120x40', '-await', '30 100'], 'x\n');
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /^30 100\r\n.*40 120\r\n$/s);
  });

  test(`${transport}: attach`, async () => {
    backend.containers.set('main', ['sh', '-c', 'read name; echo "hello $name"']);
    const url = server.getAttach({ containerId: 'main', stdin: true, stdout: true, stderr: false, tty: false }).url;
    const r = await run(['-transport', transport, '-url', url, '-stdin'], 'go\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello go\n');
  });

  test(`${transport}: port-forward to an HTTP server`, async () => {
    const url = server.getPortForward({ podSandboxId: 'pod', port: transport === 'ws' ? [httpPort] : [] }).url;
    const n = transport === 'spdy' ? 2 : 1;
    const r = await run(['-transport', transport, '-url', url, '-portforward', '-port', String(httpPort), '-requests', String(n), '-send', 'GET /conn-{i} HTTP/1.0\\r\\n\\r\\n']);
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < n; i++) assert.match(r.stdout, new RegExp(`=== ${i}\\nHTTP/1.1 200 OK\\r\\n[^]*served /conn-${i}\\n`));
  });
}

test('spdy: v3 negotiated, the exit is a text error; v2 has no resize stream', async () => {
  const r = await run(['-transport', 'spdy', '-protocols', 'v3.channel.k8s.io', '-url', execUrl(['sh', '-c', 'exit 9'])]);
  assert.equal(r.code, 200);
  assert.match(r.stderr, /protocol: v3.channel.k8s.io\nerror: error executing remote command: command terminated with non-zero exit code: exit status 9/);
  const v2 = await run(['-transport', 'spdy', '-protocols', 'v2.channel.k8s.io', '-url', execUrl(['sh', '-c', 'echo ok'])]);
  assert.equal(v2.code, 0, v2.stderr);
  assert.equal(v2.stdout, 'ok\n');
});

test('spdy: a refused port-forward reaches the client as an error', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const url = server.getPortForward({ podSandboxId: 'pod', port: [] }).url;
  const r = await run(['-transport', 'spdy', '-url', url, '-portforward', '-port', String(port), '-send', 'x']);
  assert.equal(r.code, 200);
  assert.match(r.stderr, new RegExp(`an error occurred forwarding ${port}: .*ECONNREFUSED`));
});

test('ws: an unsupported subprotocol is refused', async () => {
  const r = await run(['-transport', 'ws', '-protocols', 'v9.channel.k8s.io', '-url', execUrl(['true'])]);
  assert.equal(r.code, 200);
  assert.match(r.stderr, /403 Forbidden/);
});
