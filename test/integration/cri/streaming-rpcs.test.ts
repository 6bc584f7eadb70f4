// End to end through berthd: a pod with busybox httpd, Exec and PortForward through the CRI socket,
// the URLs they return driven by the Go interop client (SPDY and WebSocket); bad requests refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statusCode, GrpcStatus } from '../../support/cri-client.ts';
import { startPodEnv, type PodEnv } from '../../support/cri-pod-env.ts';
import { buildGoStreamingClient, runGoClient } from '../../support/go-streaming-client.ts';

const skip = !existsSync('/usr/lib/cni/bridge') || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;
let env: PodEnv;
let go = '';
const work = mkdtempSync(join(tmpdir(), 'berth-cri-streaming-'));

before(async () => {
  if (skip) return;
  env = await startPodEnv();
  await env.d.client.image('PullImage', { image: { image: env.image } });
  go = buildGoStreamingClient(work);
});

after(async () => {
  await env?.teardown();
  rmSync(work, { recursive: true, force: true });
});

const rt = (method: string, req: object = {}) => env.d.client.runtime(method, req);

test('Exec and PortForward RPCs into a berthd pod, driven by the Go client over SPDY and WebSocket', { skip }, async () => {
  const config = { metadata: { name: 'stream', namespace: 'default', uid: `uid-stream-${env.id}`, attempt: 0 }, hostname: 'stream', log_directory: join(env.work, 'logs', 'stream'), linux: { security_context: { namespace_options: { pid: 'CONTAINER' } } } };
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config });
  const web = await rt('CreateContainer', {
    pod_sandbox_id: podId,
    config: { metadata: { name: 'web', attempt: 0 }, image: { image: env.image }, command: ['/bin/sh', '-c', 'mkdir -p /tmp/www && echo "hello $(cat /etc/hostname)" > /tmp/www/index.html && exec /bin/busybox httpd -f -p 8080 -h /tmp/www'], log_path: 'web/0.log' },
    sandbox_config: config,
  });
  assert.equal(await statusCode(rt('Exec', { container_id: web.container_id, cmd: ['true'], stdout: true })), GrpcStatus.FAILED_PRECONDITION, 'not running yet');
  await rt('StartContainer', { container_id: web.container_id });

  for (const transport of ['spdy', 'ws']) {
    const { url } = await rt('Exec', { container_id: web.container_id, cmd: ['/bin/sh', '-c', 'cat; hostname; exit 5'], stdin: true, stdout: true });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]+$/);
    const r = await runGoClient(go, ['-transport', transport, '-url', url, '-stdin'], 'typed\n');
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout, 'typed\nstream\n');
    const pf = await rt('PortForward', { pod_sandbox_id: podId, port: transport === 'ws' ? [8080] : [] });
    assert.match(pf.url, /^http:\/\/127\.0\.0\.1:\d+\/portforward\/[A-Za-z0-9_-]+$/);
    const p = await runGoClient(go, ['-transport', transport, '-url', pf.url, '-portforward', '-port', '8080', '-requests', '1', '-send', 'GET /index.html HTTP/1.0\\r\\n\\r\\n']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /HTTP\/1\.[01] 200 OK\r\n[^]*hello stream\n/);
  }
  assert.equal(await statusCode(rt('Exec', { container_id: web.container_id, cmd: ['true'], tty: true, stdout: true, stderr: true })), GrpcStatus.INVALID_ARGUMENT);
  assert.equal(await statusCode(rt('PortForward', { pod_sandbox_id: 'f'.repeat(64), port: [80] })), GrpcStatus.NOT_FOUND);
  await rt('StopPodSandbox', { pod_sandbox_id: podId });
  assert.equal(await statusCode(rt('PortForward', { pod_sandbox_id: podId, port: [8080] })), GrpcStatus.FAILED_PRECONDITION, 'pod not ready');
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('Exec with a tty into a runc pod: the Go client gets the sized, resized terminal and the exit code', { skip }, async () => {
  const config = { metadata: { name: 'ttyrunc', namespace: 'default', uid: `uid-ttyrunc-${env.id}`, attempt: 0 }, hostname: 'ttyrunc', log_directory: join(env.work, 'logs', 'ttyrunc') };
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config, runtime_handler: 'runc' });
  try {
    const c = await rt('CreateContainer', {
      pod_sandbox_id: podId,
      config: { metadata: { name: 'sleeper', attempt: 0 }, image: { image: env.image }, command: ['/bin/sleep', '100000'], log_path: 'sleeper/0.log' },
      sandbox_config: config,
    });
    await rt('StartContainer', { container_id: c.container_id });
    for (const transport of ['spdy', 'ws']) {
      const { url } = await rt('Exec', { container_id: c.container_id, cmd: ['/bin/sh', '-c', 'stty size; read x; stty size; exit 4'], tty: true, stdin: true, stdout: true });
      const r = await runGoClient(go, ['-transport', transport, '-url', url, '-stdin', '-tty', '-resize', '100x30,120x40', '-await', '30 100'], 'x\n');
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stdout, /^30 100\r\n.*40 120\r\n$/s);
    }
  } finally {
    await rt('StopPodSandbox', { pod_sandbox_id: podId });
    await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  }
});
