// Limits and faults of berthd's streaming server over SPDY: timeouts, clients that vanish or
// reset, backends that fail, many execs at once, a terminal with resizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamingServer } from '../../../src/cri/streaming/streaming-server.ts';
import type { StreamingBackend } from '../../../src/cri/streaming/backend.ts';
import { LocalProcessBackend } from '../../support/local-streaming-backend.ts';
import { spdyUpgrade, type SpdyTestClient } from '../../support/spdy-test-client.ts';

async function withServer(backend: StreamingBackend, opts: { idleTimeoutMs?: number; streamCreationTimeoutMs?: number }, fn: (s: StreamingServer) => Promise<void>): Promise<void> {
  const server = new StreamingServer({ backend, ...opts });
  await server.start();
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

const execReq = (cmd: string[], o: { stdin?: boolean; tty?: boolean; id?: string } = {}) =>
  ({ containerId: o.id ?? 'c1', cmd, stdin: o.stdin ?? false, stdout: true, stderr: false, tty: o.tty ?? false });

async function connect(url: string): Promise<SpdyTestClient> {
  const r = await spdyUpgrade(url, ['v4.channel.k8s.io']);
  assert.equal(r.status, 101, r.body);
  return r.client!;
}

test('a client that does not open its streams in time is disconnected and nothing runs', async () => {
  const backend = new LocalProcessBackend();
  await withServer(backend, { streamCreationTimeoutMs: 300 }, async (server) => {
    const c = await connect(server.getExec(execReq(['true'], { stdin: true })).url);
    await c.open({ streamtype: 'error' });
    await c.open({ streamtype: 'stdout' });
    const t0 = Date.now();
    await c.closed;
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(backend.log.execs, 0);
  });
});

test('an idle connection closes after the idle timeout and aborts its exec', async () => {
  const backend = new LocalProcessBackend();
  await withServer(backend, { idleTimeoutMs: 400 }, async (server) => {
    const c = await connect(server.getExec(execReq(['sleep', '30'], { id: 'idle' })).url);
    for (const t of ['error', 'stdout']) await c.open({ streamtype: t });
    await c.closed;
    await waitFor(() => backend.log.aborted.includes('idle'));
  });
});

test('a client that vanishes aborts its own exec only', async () => {
  const backend = new LocalProcessBackend();
  await withServer(backend, {}, async (server) => {
    const gone = await connect(server.getExec(execReq(['sleep', '30'], { id: 'gone' })).url);
    const stays = await connect(server.getExec(execReq(['sh', '-c', 'read x; echo got $x'], { id: 'stays', stdin: true })).url);
    for (const t of ['error', 'stdout']) await gone.open({ streamtype: t });
    const s = { error: await stays.open({ streamtype: 'error' }), stdin: await stays.open({ streamtype: 'stdin' }), stdout: await stays.open({ streamtype: 'stdout' }) };
    await waitFor(() => backend.log.execs === 2);
    gone.socket.destroy();
    await waitFor(() => backend.log.aborted.includes('gone'));
    s.stdin.end('it\n');
    assert.equal(await s.stdout.done(), 'got it\n');
    assert.equal(await s.error.done(), '{"metadata":{},"status":"Success"}');
    assert.deepEqual(backend.log.aborted, ['gone']);
  });
});

test('stopping the server ends its connections and aborts their execs', async () => {
  const backend = new LocalProcessBackend();
  const server = new StreamingServer({ backend });
  await server.start();
  const c = await connect(server.getExec(execReq(['sleep', '30'], { id: 'stopped' })).url);
  for (const t of ['error', 'stdout']) await c.open({ streamtype: t });
  await waitFor(() => backend.log.execs === 1);
  await server.stop();
  await c.closed;
  await waitFor(() => backend.log.aborted.includes('stopped'));
});

test('a backend that fails reports an InternalError status', async () => {
  const failing: StreamingBackend = {
    exec: async () => { throw new Error('container c1 is not running'); },
    attach: async () => undefined,
    portForward: async () => undefined,
  };
  await withServer(failing, {}, async (server) => {
    const c = await connect(server.getExec(execReq(['true'])).url);
    const error = await c.open({ streamtype: 'error' });
    await c.open({ streamtype: 'stdout' });
    const status = JSON.parse(await error.done());
    assert.equal(status.status, 'Failure');
    assert.equal(status.reason, 'InternalError');
    assert.equal(status.code, 500);
    assert.match(status.message, /container c1 is not running/);
  });
});

test('attach: the main process output, stdin, and Success when it ends', async () => {
  const backend = new LocalProcessBackend();
  backend.containers.set('web', ['sh', '-c', 'echo started; read line; echo "bye $line"']);
  await withServer(backend, {}, async (server) => {
    const c = await connect(server.getAttach({ containerId: 'web', stdin: true, stdout: true, stderr: false, tty: false }).url);
    const error = await c.open({ streamtype: 'error' });
    const stdin = await c.open({ streamtype: 'stdin' });
    const stdout = await c.open({ streamtype: 'stdout' });
    await stdout.until(() => stdout.text.includes('started'));
    stdin.write('now\n');
    assert.equal(await stdout.done(), 'started\nbye now\n');
    assert.equal(await error.done(), '{"metadata":{},"status":"Success"}');
  });
});

test('tty: the terminal gets the first size, later resizes reach the process', async () => {
  const backend = new LocalProcessBackend();
  await withServer(backend, {}, async (server) => {
    const c = await connect(server.getExec(execReq(['sh', '-c', 'stty size; read x; stty size'], { stdin: true, tty: true })).url);
    const error = await c.open({ streamtype: 'error' });
    const stdin = await c.open({ streamtype: 'stdin' });
    const stdout = await c.open({ streamtype: 'stdout' });
    const resize = await c.open({ streamtype: 'resize' });
    resize.write('{"Width":100,"Height":30}\n');
    await stdout.until(() => stdout.text.includes('30 100'));
    // Two objects in one write, then one split across writes: the last one counts.
    resize.write('{"Width":90,"Height":20}{"Width":132,');
    resize.write('"Height":43}\n');
    await waitFor(() => backend.log.resizes.some((r) => r.width === 132));
    stdin.write('go\n');
    const out = await stdout.done();
    assert.match(out, /^30 100\r\n.*43 132\r\n$/s);
    assert.equal(await error.done(), '{"metadata":{},"status":"Success"}');
  });
});

test('client RST_STREAM on stdin ends its input; GOAWAY lets running streams finish', async () => {
  const backend = new LocalProcessBackend();
  await withServer(backend, {}, async (server) => {
    const c = await connect(server.getExec(execReq(['sh', '-c', 'cat; echo done'], { stdin: true })).url);
    const error = await c.open({ streamtype: 'error' });
    const stdin = await c.open({ streamtype: 'stdin' });
    const stdout = await c.open({ streamtype: 'stdout' });
    stdin.write('a\n');
    await stdout.until(() => stdout.text === 'a\n');
    c.goAway();
    stdin.cancel();
    assert.equal(await stdout.done(), 'a\ndone\n');
    assert.equal(await error.done(), '{"metadata":{},"status":"Success"}');
  });
});

test('100 concurrent execs each get their own output and exit code', async () => {
  const backend = new LocalProcessBackend();
  await withServer(backend, {}, async (server) => {
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const c = await connect(server.getExec(execReq(['sh', '-c', `cat; echo out-${i}; exit ${i % 7}`], { stdin: true, id: `c${i}` })).url);
      const error = await c.open({ streamtype: 'error' });
      const stdin = await c.open({ streamtype: 'stdin' });
      const stdout = await c.open({ streamtype: 'stdout' });
      stdin.end(`in-${i}\n`);
      const [out, err] = await Promise.all([stdout.done(), error.done()]);
      return { i, out, status: JSON.parse(err) };
    }));
    for (const { i, out, status } of results) {
      assert.equal(out, `in-${i}\nout-${i}\n`);
      if (i % 7 === 0) assert.equal(status.status, 'Success');
      else assert.equal(status.details.causes[0].message, String(i % 7));
    }
    console.log(`# 100 concurrent execs over SPDY: ${Date.now() - t0} ms`);
  });
});

test('a slow reader holds the process back instead of filling memory (socket backpressure)', async () => {
  const backend = new LocalProcessBackend();
  await withServer(backend, {}, async (server) => {
    const c = await connect(server.getExec(execReq(['sh', '-c', 'head -c 20000000 /dev/zero'])).url);
    const error = await c.open({ streamtype: 'error' });
    const stdout = await c.open({ streamtype: 'stdout' });
    c.socket.pause();
    await sleep(500);
    const rss = process.memoryUsage().rss;
    c.socket.resume();
    await stdout.until(() => stdout.remoteFin);
    assert.equal(stdout.chunks.reduce((n, b) => n + b.length, 0), 20_000_000);
    assert.equal(await error.done(), '{"metadata":{},"status":"Success"}');
    assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}
