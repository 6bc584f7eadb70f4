// The RuntimeService's pure decisions: List filters, name reservations, RuntimeClass handler
// choice, pod and container views, container states and exit reasons, host-path checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerMatches, labelsMatch, podMatches } from '../../../src/cri/cri-filters.ts';
import { containerReservedName, NameReservations, podReservedName } from '../../../src/cri/name-reservation.ts';
import { runtimeHandlerName, sandboxPerContainer, serviceRuntime, specForHandler } from '../../../src/cri/runtime-class.ts';
import { criLife, containerStatusOf, UNKNOWN_EXIT_CODE, type CriContainerRecord } from '../../../src/cri/cri-container.ts';
import { podSandboxStatusOf, podNetnsPath, type PodRecord } from '../../../src/cri/pod-record.ts';
import { checkResolvedHostPath, propagationAt } from '../../../src/cri/server/container-facts-io.ts';
import { parseMountinfo } from '../../../src/runtime/cgroups/cgroup-host.ts';
import { orphans } from '../../../src/cri/server/reconcile.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const kind = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return err instanceof BerthError ? err.kind : 'other';
  }
  return 'none';
};

test('label selectors: every key must match; an empty selector matches all', () => {
  assert.equal(labelsMatch({ a: '1', b: '2' }, { a: '1' }), true);
  assert.equal(labelsMatch({ a: '1' }, { a: '1', b: '2' }), false);
  assert.equal(labelsMatch({ a: '1' }, { a: '2' }), false);
  assert.equal(labelsMatch({}, {}), true);
  assert.equal(labelsMatch({}, undefined), true);
});

test('pod filters: id prefix, state, labels; a null filter lists all', () => {
  const pod = { id: 'abcdef', state: 'SANDBOX_READY', labels: { app: 'web' } };
  assert.equal(podMatches(pod, null), true);
  assert.equal(podMatches(pod, { id: 'abc' }), true);
  assert.equal(podMatches(pod, { id: 'abd' }), false);
  assert.equal(podMatches(pod, { id: '', state: { state: 'SANDBOX_READY' } }), true);
  assert.equal(podMatches(pod, { state: { state: 'SANDBOX_NOTREADY' } }), false);
  assert.equal(podMatches(pod, { state: null, label_selector: { app: 'db' } }), false);
});

test('container filters: pod id, state and labels together', () => {
  const c = { id: 'c1', podSandboxId: 'p1', state: 'CONTAINER_RUNNING', labels: { c: 'x' } };
  assert.equal(containerMatches(c, { pod_sandbox_id: 'p1', state: { state: 'CONTAINER_RUNNING' }, label_selector: { c: 'x' } }), true);
  assert.equal(containerMatches(c, { pod_sandbox_id: 'p2' }), false);
  assert.equal(containerMatches(c, { state: { state: 'CONTAINER_EXITED' } }), false);
  assert.equal(containerMatches(c, { id: 'c2' }), false);
});

test('names are reserved as name_namespace_uid_attempt; the holder may reserve again, others may not', () => {
  const pod = { name: 'web', namespace: 'default', uid: 'u1', attempt: 2 };
  assert.equal(podReservedName(pod), 'web_default_u1_2');
  assert.equal(containerReservedName({ name: 'app', attempt: 0 }, pod), 'app_web_default_u1_0');
  const names = new NameReservations();
  names.reserve('n', 'id1', 'pod');
  names.reserve('n', 'id1', 'pod');
  assert.throws(() => names.reserve('n', 'id2', 'pod'), /pod name "n" is reserved for id1/);
  names.release('n', 'id2'); // not the holder: nothing happens
  assert.equal(names.holder('n'), 'id1');
  names.release('n', 'id1');
  names.reserve('n', 'id2', 'pod');
  assert.equal(names.holder('n'), 'id2');
});

test('runtime handlers: "" is the default, an unknown name is NotFound and lists the known ones', () => {
  const config = { defaultRuntime: 'berth', runtimes: { berth: { name: 'berth' }, runc: { name: 'runc', path: '/usr/sbin/runc' } } };
  assert.equal(runtimeHandlerName('', config), 'berth');
  assert.equal(runtimeHandlerName(undefined, config), 'berth');
  assert.equal(runtimeHandlerName('runc', config), 'runc');
  assert.equal(kind(() => runtimeHandlerName('kata', config)), 'not-found');
  assert.throws(() => runtimeHandlerName('kata', config), /known: berth, runc/);
  // The built-in handler runs in berthd; a configured one is a program the container service runs.
  assert.equal(serviceRuntime(config, 'berth'), undefined);
  assert.equal(serviceRuntime(config, 'runc'), 'runc');
  const gvisor = { runtimes: { ...config.runtimes, gvisor: { name: 'gvisor', path: '/usr/bin/runsc' } } };
  assert.equal(sandboxPerContainer(gvisor, 'gvisor'), true);
  assert.equal(sandboxPerContainer(gvisor, 'runc'), false);
  assert.equal(sandboxPerContainer(gvisor, 'berth'), false);
  const spec = { ociVersion: '1.2.0', annotations: { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'p1', 'io.kubernetes.cri.container-name': 'web' } };
  assert.deepEqual(specForHandler(spec, true).annotations, { 'io.kubernetes.cri.sandbox-id': 'p1', 'io.kubernetes.cri.container-name': 'web' });
  assert.equal(specForHandler(spec, false), spec);
  assert.equal(spec.annotations['io.kubernetes.cri.container-type'], 'container', 'the planned spec is not changed');
});

test('container states: created, running, exited with Completed / Error / OOMKilled, unknown exits', () => {
  assert.equal(criLife({ status: 'created' }).state, 'CONTAINER_CREATED');
  assert.equal(criLife({ status: 'creating' }).state, 'CONTAINER_UNKNOWN');
  const running = criLife({ status: 'running', supervision: 'supervised', started: '2026-01-02T03:04:05.000000006Z' });
  assert.equal(running.state, 'CONTAINER_RUNNING');
  assert.equal(running.startedAt, String(BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)) * 1_000_000n + 6n));
  assert.equal(running.finishedAt, '0');
  const ok = criLife({ status: 'stopped', exitCode: 0, finished: '2026-01-02T03:04:06Z' });
  assert.deepEqual([ok.state, ok.exitCode, ok.reason], ['CONTAINER_EXITED', 0, 'Completed']);
  assert.equal(criLife({ status: 'stopped', exitCode: 3 }).reason, 'Error');
  assert.equal(criLife({ status: 'stopped', exitCode: 137, reason: 'OOMKilled' }).reason, 'OOMKilled');
  const lost = criLife({ status: 'stopped', supervision: 'lost' });
  assert.deepEqual([lost.exitCode, lost.reason], [UNKNOWN_EXIT_CODE, 'Unknown']);
  assert.match(criLife({ status: 'running', supervision: 'lost' }).message, /unsupervised/);
});

test('ContainerStatus carries mounts, log path, image and a stop signal only when the CRI enum has it', () => {
  const c: CriContainerRecord = {
    id: 'c1', podSandboxId: 'p1', metadata: { name: 'app', attempt: 1 }, image: { image: 'busybox' }, imageId: 'sha256:1', imageRef: 'busybox@sha256:2',
    createdAt: '5', labels: {}, annotations: {}, mounts: [{ container_path: '/data', host_path: '/srv' }], logPath: '/logs/app/1.log', cgroupsPath: '/k/c1', runtimeHandler: 'berth', stopSignal: 'SIGQUIT',
  };
  const s = containerStatusOf(c, criLife({ status: 'stopped', exitCode: 0 })) as Record<string, unknown>;
  assert.equal(s.log_path, '/logs/app/1.log');
  assert.deepEqual(s.mounts, c.mounts);
  assert.equal(s.image_ref, 'busybox@sha256:2');
  assert.equal(s.stop_signal, 'SIGQUIT');
  assert.equal((containerStatusOf({ ...c, stopSignal: 'SIGRTMIN+3' }, criLife({ status: 'created' })) as Record<string, unknown>).stop_signal, undefined);
});

test('pod status: the first IP and the others, namespace modes, the netns path', () => {
  const pod = {
    id: 'p', metadata: { name: 'n', namespace: 'd', uid: 'u', attempt: 0 }, config: {}, state: 'SANDBOX_READY', createdAt: '1', runtimeHandler: 'berth', dir: '/run/p',
    namespaces: { network: { path: '/run/p/ns/net' }, ipc: 'host', uts: { path: '/run/p/ns/uts' }, pid: 'container' }, files: {}, shmMounted: false, cgroupParent: '/k',
    network: { name: 'pods', ifname: 'eth0', ips: ['10.1.0.5', 'fd00::5'] }, labels: {}, annotations: {},
  } as PodRecord;
  const s = podSandboxStatusOf(pod) as { network: unknown; linux: { namespaces: { options: Record<string, string> } } };
  assert.deepEqual(s.network, { ip: '10.1.0.5', additional_ips: [{ ip: 'fd00::5' }] });
  assert.deepEqual(s.linux.namespaces.options, { network: 'POD', pid: 'CONTAINER', ipc: 'NODE', target_id: '' });
  assert.equal(podNetnsPath(pod), '/run/p/ns/net');
  assert.equal(podNetnsPath({ ...pod, namespaces: { ...pod.namespaces, network: 'host' } }), undefined);
  assert.deepEqual((podSandboxStatusOf({ ...pod, network: undefined }) as { network: unknown }).network, { ip: '', additional_ips: [] });
});

test('host paths: a symlink into /proc or /sys is refused; asking for /proc itself is the spec mapping\'s call', () => {
  assert.equal(kind(() => checkResolvedHostPath('/srv/link', '/proc/1/root', 'config.mounts[0].host_path')), 'invalid-argument');
  assert.equal(kind(() => checkResolvedHostPath('/srv/link', '/sys/kernel', 'config.mounts[0].host_path')), 'invalid-argument');
  assert.equal(kind(() => checkResolvedHostPath('/srv/data', '/data/real', 'f')), 'none');
  assert.equal(kind(() => checkResolvedHostPath('/proc/cpuinfo', '/proc/cpuinfo', 'f')), 'none');
  assert.equal(kind(() => checkResolvedHostPath('/srv/procfs', '/procfs/x', 'f')), 'none');
});

test('mount propagation of a host path: the deepest mount above it decides', () => {
  const mounts = parseMountinfo([
    '21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '30 21 0:40 / /mnt/slave rw shared:2 master:7 - tmpfs t rw',
    '31 21 0:41 / /mnt/private rw - tmpfs t rw',
    '32 30 0:42 / /mnt/slave/inner rw master:9 - tmpfs t rw',
  ].join('\n'));
  assert.equal(propagationAt(mounts, '/home/x'), 'shared');
  assert.equal(propagationAt(mounts, '/mnt/private/a'), 'private');
  assert.equal(propagationAt(mounts, '/mnt/slave/a'), 'shared');
  assert.equal(propagationAt(mounts, '/mnt/slave/inner/b'), 'slave');
  assert.equal(propagationAt(mounts, '/mnt/privateer'), 'shared');
});

test('start-up clean-up: orphans are what neither a CRI record nor a pod names (an infra has its pod\'s id)', () => {
  const found = orphans({
    labelled: ['c1', 'c2', 'p1'],
    containerIds: new Set(['c1']),
    podIds: new Set(['p1']),
    podDirs: ['p1', 'p9'],
    attachments: ['p1', 'p8'],
  });
  assert.deepEqual(found, { containers: ['c2'], podDirs: ['p9'], attachments: ['p8'] });
});
