// Exec and attach over WebSocket (channel.k8s.io subprotocols) through berthd's streaming server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { StreamingServer } from '../../../src/cri/streaming/streaming-server.ts';
import { LocalProcessBackend } from '../../support/local-streaming-backend.ts';

const backend = new LocalProcessBackend();
const server = new StreamingServer({ backend });
await server.start();
after(() => server.stop());

const exec = (cmd: string[], o: { stdin?: boolean; stderr?: boolean; tty?: boolean } = {}) =>
  server.getExec({ containerId: 'c1', cmd, stdin: o.stdin ?? false, stdout: true, stderr: o.stderr ?? false, tty: o.tty ?? false }).url.replace(/^http/, 'ws');

interface Session { ws: WebSocket; messages: Array<{ data: Buffer; binary: boolean }>; closed: Promise<number> }

function open(url: string, protocols: string[]): Promise<Session> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    const messages: Session['messages'] = [];
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (data: Buffer, binary) => messages.push({ data, binary }));
    ws.on('open', () => resolve({ ws, messages, closed }));
    ws.on('error', reject);
  });
}

const channel = (s: Session, n: number) => Buffer.concat(s.messages.filter((m) => m.data[0] === n).map((m) => m.data.subarray(1))).toString();
const send = (s: Session, n: number, data: string) => s.ws.send(Buffer.concat([Buffer.from([n]), Buffer.from(data)]));

test('v5: stdin, its close signal as EOF, stdout and stderr, Success on the error channel, normal closure', async () => {
  const s = await open(exec(['sh', '-c', 'cat; echo err >&2'], { stdin: true, stderr: true }), ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
  assert.equal(s.ws.protocol, 'v5.channel.k8s.io');
  send(s, 0, 'one\n');
  send(s, 0, 'two\n');
  s.ws.send(Buffer.from([255, 0]));
  assert.equal(await s.closed, 1000);
  assert.deepEqual(s.messages[0], { data: Buffer.from([1]), binary: true }, 'first an empty stdout message');
  assert.equal(channel(s, 1), 'one\ntwo\n');
  assert.equal(channel(s, 2), 'err\n');
  assert.equal(channel(s, 3), '{"metadata":{},"status":"Success"}');
});

test('v4: an exit code as NonZeroExitCode', async () => {
  const s = await open(exec(['sh', '-c', 'echo out; exit 42']), ['v4.channel.k8s.io']);
  assert.equal(await s.closed, 1000);
  assert.equal(channel(s, 1), 'out\n');
  assert.equal(JSON.parse(channel(s, 3)).details.causes[0].message, '42');
});

test('v4.base64: text messages, an ASCII channel digit before base64 data', async () => {
  const s = await open(exec(['sh', '-c', 'head -n1; exit 1'], { stdin: true }), ['v4.base64.channel.k8s.io']);
  s.ws.send(`0${Buffer.from('line\n').toString('base64')}`);
  assert.equal(await s.closed, 1000);
  assert.ok(s.messages.every((m) => !m.binary));
  const decode = (d: string) => s.messages.filter((m) => m.data.toString()[0] === d).map((m) => Buffer.from(m.data.toString().slice(1), 'base64').toString()).join('');
  assert.equal(decode('1'), 'line\n');
  assert.equal(JSON.parse(decode('3')).reason, 'NonZeroExitCode');
});

test('channel.k8s.io and no subprotocol: plain-text errors (v1)', async () => {
  for (const protocols of [['channel.k8s.io'], []]) {
    const s = await open(exec(['sh', '-c', 'exit 2']), protocols);
    assert.equal(s.ws.protocol, protocols[0] ?? '');
    assert.equal(await s.closed, 1000);
    assert.equal(channel(s, 3), 'command terminated with non-zero exit code: exit status 2');
  }
});

test('an unsupported subprotocol is refused with 403', async () => {
  await assert.rejects(open(exec(['true']), ['v9.channel.k8s.io']), /Unexpected server response: 403/);
});

test('tty: resize messages on channel 4 reach the terminal', async () => {
  const s = await open(exec(['sh', '-c', 'stty size; read x; stty size'], { stdin: true, tty: true }), ['v5.channel.k8s.io']);
  send(s, 4, '{"Width":120,"Height":40}');
  for (let i = 0; i < 200 && !channel(s, 1).includes('40 120'); i++) await new Promise((r) => setTimeout(r, 10));
  send(s, 4, '{"Width":60,"Height":15}');
  for (let i = 0; i < 200 && !backend.log.resizes.some((r) => r.width === 60); i++) await new Promise((r) => setTimeout(r, 10));
  send(s, 0, 'x\n');
  assert.equal(await s.closed, 1000);
  assert.match(channel(s, 1), /^40 120\r\n.*15 60\r\n$/s);
});

test('a WebSocket client that goes away aborts its exec', async () => {
  const s = await open(exec(['sleep', '30']), ['v4.channel.k8s.io']);
  await new Promise((r) => setTimeout(r, 100));
  s.ws.terminate();
  for (let i = 0; i < 300 && !backend.log.aborted.includes('c1'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(backend.log.aborted.includes('c1'));
});
