// Port forwarding through berthd's streaming server to a real HTTP server and a TCP echo server,
// over SPDY (stream pairs by requestID) and WebSocket (channel pairs with a port prefix).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { StreamingServer } from '../../../src/cri/streaming/streaming-server.ts';
import { LocalProcessBackend } from '../../support/local-streaming-backend.ts';
import { spdyUpgrade, type SpdyTestClient } from '../../support/spdy-test-client.ts';

const http = createHttpServer((req, res) => res.end(`hello from ${req.url}`));
await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
const httpPort = (http.address() as AddressInfo).port;
const echo = createTcpServer((s) => s.pipe(s));
await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
const echoPort = (echo.address() as AddressInfo).port;

const backend = new LocalProcessBackend();
const server = new StreamingServer({ backend, streamCreationTimeoutMs: 500 });
await server.start();
after(async () => {
  await server.stop();
  http.close();
  echo.close();
});

async function connect(): Promise<SpdyTestClient> {
  const r = await spdyUpgrade(server.getPortForward({ podSandboxId: 'pod1', port: [] }).url, ['portforward.k8s.io']);
  assert.equal(r.status, 101, r.body);
  return r.client!;
}

test('SPDY: two forwarded connections on one session, paired by requestID, to an HTTP server', async () => {
  const c = await connect();
  const pairs = await Promise.all(['0', '1'].map(async (id) => {
    const error = await c.open({ streamtype: 'error', port: String(httpPort), requestid: id });
    const data = await c.open({ streamtype: 'data', port: String(httpPort), requestid: id });
    return { id, error, data };
  }));
  for (const p of pairs) p.data.end(`GET /req-${p.id} HTTP/1.0\r\n\r\n`);
  for (const p of pairs) {
    const body = await p.data.done();
    assert.match(body, /^HTTP\/1.1 200 OK\r\n/);
    assert.ok(body.endsWith(`hello from /req-${p.id}`), body);
    assert.equal(await p.error.done(), '');
  }
  // The session stays for more connections.
  const e = await c.open({ streamtype: 'error', port: String(echoPort), requestid: '2' });
  const d = await c.open({ streamtype: 'data', port: String(echoPort), requestid: '2' });
  d.write('ping\n');
  await d.until(() => d.text === 'ping\n');
  d.end();
  assert.equal(await d.done(), 'ping\n');
  assert.equal(await e.done(), '');
  c.socket.destroy();
});

test('SPDY: a refused port comes back on the error stream; bad headers are refused', async () => {
  const closed = createTcpServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const c = await connect();
  const error = await c.open({ streamtype: 'error', port: String(port), requestid: '0' });
  const data = await c.open({ streamtype: 'data', port: String(port), requestid: '0' });
  const msg = JSON.parse(await error.done());
  assert.equal(msg.closeConnection, true);
  assert.match(msg.message, new RegExp(`error forwarding port ${port} to pod pod1: .*ECONNREFUSED`));
  assert.equal(await data.done(), '');
  await assert.rejects(c.open({ streamtype: 'data', port: '0', requestid: '1' }), /reset: 3/);
  await assert.rejects(c.open({ streamtype: 'stdin', port: '80', requestid: '1' }), /reset: 3/);
  c.socket.destroy();
});

test('SPDY: a pair whose second stream never comes times out on its error stream', async () => {
  const c = await connect();
  const error = await c.open({ streamtype: 'error', port: String(echoPort), requestid: '9' });
  assert.match(await error.done(), /timed out waiting for the data stream of request 9/);
  c.socket.destroy();
});

test('SPDY: the client resetting the data stream closes the forwarded connection', async () => {
  let sawClose = false;
  const hold = createTcpServer((s) => s.resume().on('close', () => (sawClose = true)));
  await new Promise<void>((r) => hold.listen(0, '127.0.0.1', r));
  const port = (hold.address() as AddressInfo).port;
  const c = await connect();
  const error = await c.open({ streamtype: 'error', port: String(port), requestid: '0' });
  const data = await c.open({ streamtype: 'data', port: String(port), requestid: '0' });
  data.write('x');
  await new Promise((r) => setTimeout(r, 100));
  data.cancel();
  await error.done();
  for (let i = 0; i < 100 && !sawClose; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(sawClose, 'the target connection was closed');
  c.socket.destroy();
  hold.close();
});

function wsOpen(url: string, protocols: string[]): Promise<{ ws: WebSocket; messages: Buffer[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols);
    const messages: Buffer[] = [];
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (d: Buffer) => messages.push(d));
    ws.on('open', () => resolve({ ws, messages, closed }));
    ws.on('error', reject);
  });
}

test('WebSocket: channel pairs per port, the port first in little-endian, data relayed both ways', async () => {
  const url = server.getPortForward({ podSandboxId: 'pod1', port: [echoPort, httpPort] }).url;
  const { ws, messages, closed } = await wsOpen(url, ['v4.channel.k8s.io']);
  assert.equal(ws.protocol, 'v4.channel.k8s.io');
  const le = (p: number) => Buffer.from([p & 0xff, p >> 8]);
  await until(() => messages.length >= 4);
  assert.deepEqual(messages.slice(0, 4).map((m) => [m[0], m.subarray(1)]).sort(), [[0, le(echoPort)], [1, le(echoPort)], [2, le(httpPort)], [3, le(httpPort)]].sort());
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('echo me')]));
  ws.send(Buffer.concat([Buffer.from([2]), Buffer.from('GET /ws HTTP/1.0\r\n\r\n')]));
  await until(() => Buffer.concat(messages.filter((m) => m[0] === 2).map((m) => m.subarray(1))).toString().includes('hello from /ws'));
  await until(() => Buffer.concat(messages.filter((m) => m[0] === 0).map((m) => m.subarray(1))).toString().includes('echo me'));
  ws.close();
  await closed;
});

test('WebSocket: ports come from the query when the request lists none; base64 channels', async () => {
  const url = server.getPortForward({ podSandboxId: 'pod1', port: [] }).url;
  const { ws, messages, closed } = await wsOpen(`${url}?port=${httpPort}`, ['v4.base64.channel.k8s.io']);
  assert.equal(ws.protocol, 'v4.base64.channel.k8s.io');
  await until(() => messages.length >= 2);
  const prefix = Buffer.from([httpPort & 0xff, httpPort >> 8]).toString('base64');
  assert.deepEqual(messages.slice(0, 2).map(String).sort(), [`0${prefix}`, `1${prefix}`]);
  ws.send(`0${Buffer.from('GET /b64 HTTP/1.0\r\n\r\n').toString('base64')}`);
  // The HTTP server closes after its answer: the backend is done, the WebSocket closes.
  assert.equal(await closed, 1000);
  const data = messages.slice(2).filter((m) => m[0] === 0x30).map((m) => Buffer.from(m.subarray(1).toString(), 'base64'));
  assert.ok(Buffer.concat(data).toString().endsWith('hello from /b64'));
});

test('WebSocket: a request without ports is refused', async () => {
  const url = server.getPortForward({ podSandboxId: 'pod1', port: [] }).url;
  await assert.rejects(wsOpen(url, ['v4.channel.k8s.io']), /Unexpected server response: 400/);
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
