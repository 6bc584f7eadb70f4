// Exec, Attach and PortForward against a lookup: the container running in a ready pod, the
// request's shape (checked by the streaming server's cache), the URL handed out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../../src/oci/errors.ts';
import { streamingRpcs } from '../../../../src/cri/server/streaming-rpcs.ts';
import type { StreamingLookup } from '../../../../src/cri/streaming/streaming-lookup.ts';
import { StreamingServer } from '../../../../src/cri/streaming/streaming-server.ts';

const lookup: StreamingLookup = {
  container: (id) => ({ run: { state: 'running', podSandboxId: 'pod' }, made: { state: 'created', podSandboxId: 'pod' }, orphan: { state: 'running', podSandboxId: 'gone' }, idle: { state: 'running', podSandboxId: 'down' } } as const)[id],
  pod: (id) => ({ pod: { ready: true, netnsPath: '/run/netns/x' }, down: { ready: false } })[id],
};
const backend = { exec: async () => ({ exitCode: 0 }), attach: async () => undefined, portForward: async () => undefined };
const server = new StreamingServer({ backend });
const rpc = streamingRpcs({ urls: server, lookup });
const call = (name: 'Exec' | 'Attach' | 'PortForward', req: object): { url: string } => rpc[name](req, {} as never) as { url: string };

function fails(name: 'Exec' | 'Attach' | 'PortForward', req: object, kind: string, message: RegExp): void {
  assert.throws(() => call(name, req), (err: unknown) => err instanceof BerthError && err.kind === kind && message.test(err.message));
}

test('a running container in a ready pod gets a single-use URL of its kind', async () => {
  await server.start();
  try {
    const exec = call('Exec', { container_id: 'run', cmd: ['ls'], stdout: true });
    assert.match(exec.url, new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/exec/[A-Za-z0-9_-]{22}$`));
    assert.match(call('Attach', { container_id: 'run', stdin: true, tty: true }).url, /\/attach\/[A-Za-z0-9_-]{22}$/);
    assert.match(call('PortForward', { pod_sandbox_id: 'pod', port: [80] }).url, /\/portforward\/[A-Za-z0-9_-]{22}$/);
    assert.notEqual(call('Exec', { container_id: 'run', cmd: ['ls'], stdout: true }).url, exec.url);
  } finally {
    await server.stop();
  }
});

test('state: unknown container or pod, a container not running, a pod not ready', () => {
  fails('Exec', { container_id: 'nope', cmd: ['ls'], stdout: true }, 'not-found', /^exec: container nope not found$/);
  fails('Exec', { container_id: 'made', cmd: ['ls'], stdout: true }, 'failed-precondition', /container made is not running \(it is created\)/);
  fails('Attach', { container_id: 'orphan', stdout: true }, 'not-found', /^attach: pod sandbox gone not found$/);
  fails('Attach', { container_id: 'idle', stdout: true }, 'failed-precondition', /pod sandbox down is not ready/);
  fails('PortForward', { pod_sandbox_id: 'down', port: [80] }, 'failed-precondition', /^port forward: pod sandbox down is not ready$/);
  fails('PortForward', { pod_sandbox_id: 'nope', port: [80] }, 'not-found', /pod sandbox nope not found/);
});

test('shape: tty excludes stderr, one stream at least, a command, ids and ports', () => {
  fails('Exec', { container_id: 'run', cmd: ['ls'], tty: true, stdout: true, stderr: true }, 'invalid-argument', /tty and stderr cannot both be set/);
  fails('Attach', { container_id: 'run' }, 'invalid-argument', /one of stdin, stdout or stderr must be set/);
  fails('Exec', { container_id: 'run', cmd: [], stdout: true }, 'invalid-argument', /cmd is required/);
  fails('Exec', { cmd: ['ls'], stdout: true }, 'invalid-argument', /container_id is required/);
  fails('PortForward', { port: [80] }, 'invalid-argument', /pod_sandbox_id is required/);
  fails('PortForward', { pod_sandbox_id: 'pod', port: [0] }, 'invalid-argument', /port 0 is not between 1 and 65535/);
});
