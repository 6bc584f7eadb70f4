// berthd's stats RPCs through the real socket: a container burning CPU and holding memory in a
// tmpfs shows it in its cgroup stats, its pod's eth0 counts the traffic of an HTTP request, the
// filters select by id prefix, pod and labels, a stopped container reports only its attributes and
// writable layer, and an unknown id is NotFound.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GrpcStatus, statusCode } from '../../support/cri-client.ts';
import { cgroupParentOf, eventually, httpGet, removeTestCgroups, startPodEnv, type PodEnv } from '../../support/cri-pod-env.ts';

const skip = !existsSync('/usr/lib/cni/bridge') || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;
const HELD = 24 * 1024 * 1024;

let env: PodEnv;

before(async () => {
  if (skip) return;
  env = await startPodEnv();
  await env.d.client.image('PullImage', { image: { image: env.image } });
});

after(async () => {
  await env?.teardown();
  removeTestCgroups(env?.id ?? 'none');
});

const rt = (method: string, req: object = {}) => env.d.client.runtime(method, req);

interface Value {
  value: string;
}
const num = (v: Value | undefined): number => Number(v?.value ?? 'NaN');

test('stats: CPU and memory of a busy container, network of its pod, filters, a stopped container, unknown ids', { skip }, async () => {
  const config = {
    metadata: { name: 'stats', namespace: 'default', uid: `uid-stats-${env.id}`, attempt: 0 },
    hostname: 'stats',
    log_directory: join(env.work, 'logs', 'stats'),
    labels: { app: 'stats', run: env.id },
    linux: { cgroup_parent: `/${cgroupParentOf(env.id)}`, security_context: { namespace_options: { pid: 'CONTAINER' } } },
  };
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config });
  const container = (name: string, script: string) => ({
    pod_sandbox_id: podId,
    config: { metadata: { name, attempt: 0 }, image: { image: env.image }, command: ['/bin/sh', '-c', script], log_path: `${name}.log`, labels: { role: name } },
    sandbox_config: config,
  });
  const { container_id: busy } = await rt('CreateContainer', container('busy', `head -c ${HELD} /dev/zero > /dev/shm/held && echo held && while :; do :; done`));
  const { container_id: web } = await rt('CreateContainer', container('web', 'mkdir /tmp/www && echo hi > /tmp/www/i && exec /bin/busybox httpd -f -p 8080 -h /tmp/www'));
  await rt('StartContainer', { container_id: busy });
  await rt('StartContainer', { container_id: web });

  // The first sample has no previous one; a later one gives the rate.
  const stats = await eventually(async () => {
    const s = (await rt('ContainerStats', { container_id: busy })).stats;
    assert.ok(num(s.cpu?.usage_nano_cores) > 0, JSON.stringify(s.cpu));
    assert.ok(num(s.memory?.working_set_bytes) >= HELD, JSON.stringify(s.memory));
    return s;
  }, 20_000);
  assert.equal(stats.attributes.id, busy);
  assert.deepEqual(stats.attributes.labels, { role: 'busy' });
  assert.equal(stats.attributes.metadata.name, 'busy');
  assert.ok(num(stats.cpu.usage_core_nano_seconds) > 0);
  assert.ok(num(stats.writable_layer.used_bytes) > 0, 'the layer holds /tmp and the log dir at least');
  assert.ok(stats.writable_layer.fs_id.mountpoint.startsWith(env.d.root), stats.writable_layer.fs_id.mountpoint);

  // Traffic to the pod's IP shows on its eth0.
  const ip: string = (await rt('PodSandboxStatus', { pod_sandbox_id: podId })).status.network.ip;
  const netBefore = (await rt('PodSandboxStats', { pod_sandbox_id: podId })).stats.linux.network;
  assert.equal(netBefore.default_interface.name, 'eth0');
  assert.equal(await eventually(() => httpGet(`http://${ip}:8080/i`)), 'hi\n');
  const pod = (await rt('PodSandboxStats', { pod_sandbox_id: podId.slice(0, 12) })).stats;
  const eth0 = pod.linux.network.default_interface;
  assert.ok(num(eth0.rx_bytes) > num(netBefore.default_interface.rx_bytes), JSON.stringify({ before: netBefore, after: eth0 }));
  assert.ok(num(eth0.tx_bytes) > num(netBefore.default_interface.tx_bytes));
  assert.equal(pod.attributes.id, podId);
  assert.ok(num(pod.linux.memory?.working_set_bytes) >= HELD, 'the pod cgroup holds its containers');
  assert.ok(num(pod.linux.process.process_count) >= 2);
  assert.deepEqual(pod.linux.containers.map((c: { attributes: { id: string } }) => c.attributes.id).sort(), [busy, web].sort());

  // Filters: id prefix, pod, labels (ANDed).
  const ids = async (req: object) => (await rt('ListContainerStats', req)).stats.map((s: { attributes: { id: string } }) => s.attributes.id).sort();
  assert.deepEqual(await ids({}), [busy, web].sort());
  assert.deepEqual(await ids({ filter: { id: web.slice(0, 10) } }), [web]);
  assert.deepEqual(await ids({ filter: { pod_sandbox_id: podId, label_selector: { role: 'busy' } } }), [busy]);
  assert.deepEqual(await ids({ filter: { pod_sandbox_id: 'f'.repeat(64) } }), []);
  assert.deepEqual(await ids({ filter: { label_selector: { role: 'nobody' } } }), []);
  const pods = async (req: object) => (await rt('ListPodSandboxStats', req)).stats.map((s: { attributes: { id: string } }) => s.attributes.id);
  assert.deepEqual(await pods({ filter: { label_selector: { app: 'stats' } } }), [podId]);
  assert.deepEqual(await pods({ filter: { label_selector: { app: 'other' } } }), []);
  assert.deepEqual(await pods({ filter: { id: podId } }), [podId]);

  // A stopped container: attributes and writable layer, no cgroup figures.
  await rt('StopContainer', { container_id: busy, timeout: 1 });
  const stopped = (await rt('ContainerStats', { container_id: busy })).stats;
  assert.equal(stopped.cpu, null);
  assert.equal(stopped.memory, null);
  assert.equal(stopped.attributes.id, busy);
  assert.ok(stopped.writable_layer);

  assert.equal(await statusCode(rt('ContainerStats', { container_id: 'f'.repeat(64) })), GrpcStatus.NOT_FOUND);
  assert.equal(await statusCode(rt('PodSandboxStats', { pod_sandbox_id: 'f'.repeat(64) })), GrpcStatus.NOT_FOUND);
  assert.equal(await statusCode(rt('ContainerStats', {})), GrpcStatus.INVALID_ARGUMENT);

  await rt('StopPodSandbox', { pod_sandbox_id: podId });
  // A pod that is not ready has no network to count; its containers are still listed.
  const notReady = (await rt('PodSandboxStats', { pod_sandbox_id: podId })).stats;
  assert.equal(notReady.linux.network, null);
  assert.equal(notReady.linux.containers.length, 2);
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.deepEqual((await rt('ListContainerStats', {})).stats, []);
  assert.deepEqual(env.leftovers(), []);
});
