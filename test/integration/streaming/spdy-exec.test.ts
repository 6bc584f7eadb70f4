// berthd's streaming server over SPDY, driven by berth's test client against real local processes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { StreamingServer } from '../../../src/cri/streaming/streaming-server.ts';
import { LocalProcessBackend } from '../../support/local-streaming-backend.ts';
import { connectSpdy, openStreams, spdyUpgrade, header } from '../../support/spdy-test-client.ts';

const backend = new LocalProcessBackend();
const server = new StreamingServer({ backend, streamCreationTimeoutMs: 2000 });
await server.start();
after(() => server.stop());

const exec = (cmd: string[], o: { stdin?: boolean; stdout?: boolean; stderr?: boolean; tty?: boolean } = {}) =>
  server.getExec({ containerId: 'c1', cmd, stdin: o.stdin ?? false, stdout: o.stdout ?? true, stderr: o.stderr ?? false, tty: o.tty ?? false }).url;

const connect = connectSpdy;

test('exec: stdin reaches the process, its FIN is EOF, stdout and stderr come back, then Success', async () => {
  const c = await connect(exec(['sh', '-c', 'cat; echo to-stderr >&2'], { stdin: true, stderr: true }));
  const s = await openStreams(c, ['error', 'stdin', 'stdout', 'stderr']);
  s.stdin!.write('hello ');
  s.stdin!.end('world\n');
  assert.equal(await s.stdout!.done(), 'hello world\n');
  assert.equal(await s.stderr!.done(), 'to-stderr\n');
  assert.equal(await s.error!.done(), '{"metadata":{},"status":"Success"}');
  await c.closed;
  assert.ok(c.received.some((f) => f.type === 'goaway'));
});

test('exec: a non-zero exit is a NonZeroExitCode Failure with the code as the ExitCode cause', async () => {
  const c = await connect(exec(['sh', '-c', 'exit 7']));
  const s = await openStreams(c, ['error', 'stdout']);
  const status = JSON.parse(await s.error!.done());
  assert.deepEqual(status, {
    metadata: {}, status: 'Failure', message: 'command terminated with non-zero exit code: exit status 7',
    reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '7' }] },
  });
  assert.equal(await s.stdout!.done(), '');
});

test('exec: v3 and older get the error as text, nothing on success', async () => {
  const c = await connect(exec(['sh', '-c', 'exit 3']), ['v3.channel.k8s.io']);
  const s = await openStreams(c, ['error', 'stdout']);
  assert.equal(await s.error!.done(), 'command terminated with non-zero exit code: exit status 3');
  const ok = await connect(exec(['true']), ['channel.k8s.io']);
  const s2 = await openStreams(ok, ['error', 'stdout']);
  assert.equal(await s2.error!.done(), '');
});

test('version negotiation: first client choice the server knows; 403 lists what it accepts; 400 without any', async () => {
  const r = await spdyUpgrade(exec(['true']), ['v9.channel.k8s.io', 'v3.channel.k8s.io', 'v4.channel.k8s.io']);
  assert.equal(r.status, 101);
  assert.deepEqual(header(r, 'X-Stream-Protocol-Version'), ['v3.channel.k8s.io']);
  r.client!.socket.destroy();
  const bad = await spdyUpgrade(exec(['true']), ['v9.channel.k8s.io']);
  assert.equal(bad.status, 403);
  assert.deepEqual(header(bad, 'X-Accepted-Stream-Protocol-Versions'), ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']);
  assert.match(bad.body, /unable to negotiate protocol: client supports \[v9.channel.k8s.io\]/);
  const none = await spdyUpgrade(exec(['true']), []);
  assert.equal(none.status, 400);
  assert.match(none.body, /X-Stream-Protocol-Version is required/);
  const pf = await spdyUpgrade(server.getPortForward({ podSandboxId: 'p', port: [] }).url, ['v4.channel.k8s.io']);
  assert.equal(pf.status, 403);
  assert.deepEqual(header(pf, 'X-Accepted-Stream-Protocol-Versions'), ['portforward.k8s.io']);
});

test('tokens: unknown, reused and of another kind are 404; GET works as POST', async () => {
  const url = exec(['true']);
  const first = await spdyUpgrade(url, ['v4.channel.k8s.io'], { method: 'GET' });
  assert.equal(first.status, 101);
  first.client!.socket.destroy();
  assert.equal((await spdyUpgrade(url, ['v4.channel.k8s.io'])).status, 404);
  assert.equal((await spdyUpgrade(url.replace(/\/[^/]+$/, '/nope'), ['v4.channel.k8s.io'])).status, 404);
  assert.equal((await spdyUpgrade(url.replace('/exec/', '/attach/'), ['v4.channel.k8s.io'])).status, 404);
  assert.equal((await spdyUpgrade(exec(['true']), ['v4.channel.k8s.io'], { method: 'PUT' })).status, 405);
  const plain = await spdyUpgrade(exec(['true']), ['v4.channel.k8s.io'], { upgrade: false });
  assert.equal(plain.status, 400);
  assert.match(plain.body, /missing upgrade headers/);
});

test('PING is answered; SETTINGS and WINDOW_UPDATE are ignored; data flows with no window updates', async () => {
  const c = await connect(exec(['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x'], {}));
  c.send({ type: 'settings', clear: false, entries: [{ id: 7, flags: 0, value: 1024 }] });
  c.send({ type: 'window_update', streamId: 0, delta: 1 });
  await c.ping(1);
  const s = await openStreams(c, ['error', 'stdout']);
  assert.equal((await s.stdout!.done()).length, 300000);
  assert.equal(await s.error!.done(), '{"metadata":{},"status":"Success"}');
});

test('session rules: even or repeated stream ids are refused, no new streams after GOAWAY, a bad frame ends the session', async () => {
  const c = await connect(exec(['sleep', '2']));
  const h = new Map([['streamtype', ['error']]]);
  c.send({ type: 'syn_stream', streamId: 2, associatedTo: 0, priority: 0, fin: false, unidirectional: false, headers: h });
  assert.deepEqual(await c.waitFor((f) => f.type === 'rst_stream' && f.streamId === 2), { type: 'rst_stream', streamId: 2, status: 1 });
  await c.open({ streamtype: 'error' });
  c.send({ type: 'rst_stream', streamId: 99, status: 5 });
  c.goAway();
  await assert.rejects(c.open({ streamtype: 'stdout' }), /reset: 3/);
  c.socket.destroy();

  const bad = await connect(exec(['true']));
  bad.socket.write(Buffer.from('8002000600000004000000ff', 'hex'));
  const goaway = await bad.waitFor((f) => f.type === 'goaway');
  assert.deepEqual(goaway, { type: 'goaway', lastGoodStreamId: 0, status: 1 });
  await bad.closed;
});
