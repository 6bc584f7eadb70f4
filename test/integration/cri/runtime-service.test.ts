// berthd's RuntimeService, kubelet-shaped, through the real socket: real CNI plugins (bridge,
// host-local, portmap) on this run's own bridge and subnet, the busybox test image from a local
// registry; a pod of two containers with a hostPort answering on 127.0.0.1, logs, exec, stop,
// remove, and nothing left on the host afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../fixtures/image/registry.ts';
import { GrpcStatus, statusCode } from '../../support/cri-client.ts';
import { cgroupParentOf, eventually, httpGet, startPodEnv, type PodEnv } from '../../support/cri-pod-env.ts';

const skip = !existsSync('/usr/lib/cni/bridge') || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;

let env: PodEnv;

before(async () => {
  if (skip) return;
  env = await startPodEnv();
  await env.d.client.image('PullImage', { image: { image: env.image } });
});

after(async () => {
  await env?.teardown();
  for (const c of ['pids', 'memory', 'cpu', 'cpuacct', 'freezer', 'devices', 'blkio', 'cpuset', 'systemd', 'unified', 'net_cls', 'perf_event', 'hugetlb']) {
    const dir = `/sys/fs/cgroup/${c}/${cgroupParentOf(env?.id ?? 'none')}`;
    if (existsSync(dir)) rmdirSync(dir, { recursive: false });
  }
});

function podConfig(name: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}-${env.id}`, attempt: 0 },
    hostname: name,
    log_directory: join(env.work, 'logs', name),
    dns_config: { servers: ['10.0.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
    labels: { app: name, run: env.id },
    linux: { cgroup_parent: `/${cgroupParentOf(env.id)}`, security_context: { namespace_options: { pid: 'CONTAINER' } } },
    ...extra,
  };
}

function containerConfig(name: string, command: string[], extra: Record<string, unknown> = {}) {
  return { metadata: { name, attempt: 0 }, image: { image: env.image }, command, log_path: `${name}/0.log`, labels: { c: name }, ...extra };
}

const rt = (method: string, req: object = {}) => env.d.client.runtime(method, req);

test('a pod of two containers: hostPort on 127.0.0.1, DNS and hosts files, logs, stop and remove leave nothing', { skip }, async () => {
  const hostPort = await freePort();
  const config = podConfig('web', { port_mappings: [{ protocol: 'TCP', container_port: 8080, host_port: hostPort, host_ip: '127.0.0.1' }] });
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config });
  assert.match(podId, /^[0-9a-f]{64}$/);

  const status = await rt('PodSandboxStatus', { pod_sandbox_id: podId, verbose: true });
  assert.equal(status.status.state, 'SANDBOX_READY');
  const ip: string = status.status.network.ip;
  assert.ok(ip.startsWith(env.subnet.prefix), `pod IP ${ip} in ${env.subnet.subnet}`);
  assert.equal(status.status.linux.namespaces.options.pid, 'CONTAINER');
  const info = JSON.parse(status.info.info);
  assert.ok(existsSync(info.netNamespacePath));

  const web = await rt('CreateContainer', {
    pod_sandbox_id: podId,
    config: containerConfig('web', ['/bin/sh', '-c', 'mkdir -p /tmp/www && echo "hello $(cat /etc/hostname)" > /tmp/www/index.html && exec /bin/busybox httpd -f -p 8080 -h /tmp/www']),
    sandbox_config: config,
  });
  const logger = await rt('CreateContainer', {
    pod_sandbox_id: podId,
    config: containerConfig('logger', ['/bin/sh', '-c', 'cat /etc/resolv.conf; cat /etc/hosts; echo to-stderr >&2; exec sleep 3600']),
    sandbox_config: config,
  });
  let listed = await rt('ListContainers', { filter: { pod_sandbox_id: podId } });
  assert.deepEqual(listed.containers.map((c: { state: string }) => c.state), ['CONTAINER_CREATED', 'CONTAINER_CREATED']);
  await rt('StartContainer', { container_id: web.container_id });
  await rt('StartContainer', { container_id: logger.container_id });

  assert.equal(await eventually(() => httpGet(`http://127.0.0.1:${hostPort}/index.html`)), 'hello web\n');

  listed = await rt('ListContainers', { filter: { state: { state: 'CONTAINER_RUNNING' }, label_selector: { c: 'logger' } } });
  assert.deepEqual(listed.containers.map((c: { id: string }) => c.id), [logger.container_id]);
  const cs = await rt('ContainerStatus', { container_id: logger.container_id });
  assert.equal(cs.status.state, 'CONTAINER_RUNNING');
  assert.equal(cs.status.log_path, join(env.work, 'logs', 'web', 'logger/0.log'));
  assert.ok(BigInt(cs.status.started_at) > 0n);

  const log = await eventually(() => {
    const text = readFileSync(cs.status.log_path, 'utf8');
    if (!text.includes('to-stderr')) throw new Error(`log so far: ${text}`);
    return text;
  });
  assert.match(log, /^\S+ stdout F search default\.svc\.cluster\.local$/m);
  assert.match(log, /^\S+ stdout F nameserver 10\.0\.0\.10$/m);
  assert.match(log, new RegExp(`^\\S+ stdout F ${ip.replaceAll('.', '\\.')}\\tweb$`, 'm'));
  assert.match(log, /^\S+ stderr F to-stderr$/m);

  await rt('StopContainer', { container_id: logger.container_id, timeout: 2 });
  const stopped = await rt('ContainerStatus', { container_id: logger.container_id });
  assert.equal(stopped.status.state, 'CONTAINER_EXITED');
  // sleep is PID 1 of its PID namespace: SIGTERM has no effect, SIGKILL comes after the timeout.
  assert.equal(stopped.status.reason, 'Error');
  assert.equal(stopped.status.exit_code, 137);
  assert.ok(BigInt(stopped.status.finished_at) - BigInt(stopped.status.started_at) > 0n);
  await rt('StopContainer', { container_id: logger.container_id, timeout: 2 });

  await rt('StopPodSandbox', { pod_sandbox_id: podId });
  await rt('StopPodSandbox', { pod_sandbox_id: podId });
  const pods = await rt('ListPodSandbox', { filter: { id: podId } });
  assert.equal(pods.items[0].state, 'SANDBOX_NOTREADY');
  await assert.rejects(httpGet(`http://127.0.0.1:${hostPort}/index.html`));
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.deepEqual((await rt('ListContainers', {})).containers, []);
  assert.deepEqual((await rt('ListPodSandbox', {})).items, []);
  assert.deepEqual(env.leftovers(), []);
});
