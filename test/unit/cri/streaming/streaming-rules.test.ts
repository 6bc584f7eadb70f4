// The pure decisions of berthd's streaming server: request validation and the token cache, status
// JSON, protocol negotiation, the streams a command waits for, resize decoding, port-forward pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { BerthError } from '../../../../src/oci/errors.ts';
import { RequestCache, type CachedRequest } from '../../../../src/cri/streaming/request-cache.ts';
import { statusJson, statusText } from '../../../../src/cri/streaming/remotecommand-status.ts';
import { headerList, negotiate, remoteCommandVersion, REMOTECOMMAND_SPDY_PROTOCOLS } from '../../../../src/cri/streaming/protocol-versions.ts';
import { expectedStreamTypes } from '../../../../src/cri/streaming/remotecommand-spdy.ts';
import { JsonObjectSplitter, TerminalSizeQueue, toTerminalSize } from '../../../../src/cri/streaming/terminal-size.ts';
import { parsePort, requestIdOf } from '../../../../src/cri/streaming/portforward-spdy.ts';

const exec = (o: Partial<{ stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean; cmd: string[]; containerId: string }> = {}): CachedRequest =>
  ({ kind: 'exec', req: { containerId: 'c', cmd: ['sh'], stdin: false, stdout: true, stderr: false, tty: false, ...o } });

test('requests are validated before a URL is handed out', () => {
  const c = new RequestCache();
  const bad = (item: CachedRequest, re: RegExp) => assert.throws(() => c.insert(item), (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument' && re.test(e.message));
  bad(exec({ tty: true, stderr: true }), /tty and stderr cannot both be set/);
  bad(exec({ stdout: false }), /one of stdin, stdout or stderr/);
  bad(exec({ containerId: '' }), /container_id is required/);
  bad(exec({ cmd: [] }), /cmd is required/);
  bad({ kind: 'attach', req: { containerId: 'c', stdin: false, stdout: false, stderr: false, tty: false } }, /attach: one of/);
  bad({ kind: 'portforward', req: { podSandboxId: '', port: [] } }, /pod_sandbox_id/);
  bad({ kind: 'portforward', req: { podSandboxId: 'p', port: [70000] } }, /port 70000/);
  assert.equal(c.size, 0);
  c.insert(exec({ tty: true, stdin: true }));
  assert.equal(c.size, 1);
});

test('tokens are random, work once, expire after the TTL, and only so many wait', () => {
  let now = 1000;
  const c = new RequestCache({ ttlMs: 60_000, maxInFlight: 3, now: () => now });
  const a = c.insert(exec());
  const b = c.insert(exec({ stdin: true }));
  assert.match(a, /^[A-Za-z0-9_-]{22}$/);
  assert.notEqual(a, b);
  assert.equal(c.consume(b)?.kind, 'exec');
  assert.equal(c.consume(b), undefined, 'a second use');
  assert.equal(c.consume('nope'), undefined);
  c.insert(exec());
  c.insert(exec());
  assert.throws(() => c.insert(exec()), (e: unknown) => e instanceof BerthError && e.kind === 'resource-exhausted' && /retry in 60 s/.test(e.message));
  now += 60_000;
  assert.equal(c.consume(a), undefined, 'expired');
  assert.equal(c.size, 0, 'expired entries make room');
  c.insert(exec());
});

test('status JSON has the shape of metav1.Status that client-go decodes', () => {
  assert.equal(statusJson({ kind: 'success' }), '{"metadata":{},"status":"Success"}');
  assert.equal(statusJson({ kind: 'exit', code: 130 }),
    '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 130","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"130"}]}}');
  const internal = JSON.parse(statusJson({ kind: 'error', message: 'no such container' }));
  assert.deepEqual(internal, { metadata: {}, status: 'Failure', message: 'Internal error occurred: no such container', reason: 'InternalError', details: { causes: [{ message: 'no such container' }] }, code: 500 });
  assert.equal(statusText({ kind: 'success' }), '');
  assert.equal(statusText({ kind: 'exit', code: 1 }), 'command terminated with non-zero exit code: exit status 1');
});

test('protocol negotiation: the client order wins, header lines and commas both list', () => {
  assert.deepEqual(headerList(['v4.channel.k8s.io, v3.channel.k8s.io', ' channel.k8s.io ']), ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'channel.k8s.io']);
  assert.deepEqual(headerList(undefined), []);
  assert.equal(negotiate(['v9', 'v2.channel.k8s.io', 'v4.channel.k8s.io'], REMOTECOMMAND_SPDY_PROTOCOLS), 'v2.channel.k8s.io');
  assert.equal(negotiate(['v9'], REMOTECOMMAND_SPDY_PROTOCOLS), undefined);
  assert.deepEqual(REMOTECOMMAND_SPDY_PROTOCOLS.map(remoteCommandVersion), [5, 4, 3, 2, 1]);
});

test('the streams a command waits for depend on the request and the version', () => {
  const t = (w: Partial<{ stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }>, v: 1 | 2 | 3 | 4 | 5) =>
    [...expectedStreamTypes({ stdin: false, stdout: false, stderr: false, tty: false, ...w }, v)].sort();
  assert.deepEqual(t({ stdin: true, stdout: true, stderr: true }, 4), ['error', 'stderr', 'stdin', 'stdout']);
  assert.deepEqual(t({ stdout: true, tty: true }, 4), ['error', 'resize', 'stdout']);
  assert.deepEqual(t({ stdout: true, tty: true }, 2), ['error', 'stdout'], 'no resize before v3');
  assert.deepEqual(t({ stderr: true, tty: true, stdin: true }, 5), ['error', 'resize', 'stdin'], 'no stderr with a tty');
});

test('resize: JSON objects split and coalesced anyhow, names in any case, bad input stops', () => {
  const s = new JsonObjectSplitter();
  assert.deepEqual(s.push('{"Width":80,"He'), []);
  assert.deepEqual(s.push('ight":24}\n{"Width":1,"Height":2}{"x":"}{"'), [{ Width: 80, Height: 24 }, { Width: 1, Height: 2 }]);
  assert.deepEqual(s.push('}'), [{ x: '}{' }]);
  assert.throws(() => new JsonObjectSplitter().push('[1]'), /outside an object/);
  assert.deepEqual(toTerminalSize({ width: 10, HEIGHT: 5 }), { width: 10, height: 5 });
  assert.equal(toTerminalSize({ Width: -1, Height: 5 }), undefined);
  assert.equal(toTerminalSize({ Width: 70000 }), undefined);
  assert.equal(toTerminalSize('80x24'), undefined);
});

test('resize queue: a slow consumer sees the latest size; the queue ends with its stream', async () => {
  const source = new Readable({ read() {} });
  const q = new TerminalSizeQueue(source);
  const it = q[Symbol.asyncIterator]();
  source.push('{"Width":1,"Height":1}');
  assert.deepEqual((await it.next()).value, { width: 1, height: 1 });
  source.push('{"Width":2,"Height":2}');
  source.push('{"Width":3,"Height":3}');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual((await it.next()).value, { width: 3, height: 3 });
  source.push('not json');
  assert.equal((await it.next()).done, true);
});

test('port-forward: ports are 1-65535; pairs by requestID, or by consecutive stream ids for old clients', () => {
  assert.equal(parsePort('8080'), 8080);
  for (const bad of ['0', '65536', '-1', '80a', '', undefined, '1e3']) assert.equal(parsePort(bad), undefined, String(bad));
  const s = (id: number, h: Record<string, string>) => ({ id, header: (n: string) => h[n] });
  assert.equal(requestIdOf(s(7, { requestid: '42', streamtype: 'data' })), '42');
  assert.equal(requestIdOf(s(5, { streamtype: 'error' })), '5');
  assert.equal(requestIdOf(s(7, { streamtype: 'data' })), '5');
});
