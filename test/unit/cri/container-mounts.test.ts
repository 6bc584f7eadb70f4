// Mounts: request binds with propagation and read-only modes, the pod's files, image volumes,
// the default mounts they replace, and hostile destinations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerSpec } from '../../../src/cri/container-spec.ts';
import type { ContainerConfig, Mount as CriMount } from '../../../src/cri/cri-types.ts';
import type { ContainerFacts } from '../../../src/cri/container-facts.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import type { ImageRunConfig } from '../../../src/oci/image-spec.ts';
import type { Mount } from '../../../src/oci/runtime-spec.ts';
import { CONTAINER_ID, SANDBOX_ID, containerConfig, facts, podConfig, withHostPaths } from './cri-fixtures.ts';

const IMAGE: ImageRunConfig = { Cmd: ['/app'] };
const POD_DIR = `/var/lib/berth/pods/${SANDBOX_ID}`;

function plan(mounts: CriMount[], f: ContainerFacts = facts(), over: Partial<ContainerConfig> = {}, image: ImageRunConfig = IMAGE) {
  return containerSpec(containerConfig({ mounts, ...over }), podConfig(), image, f);
}
const binds = (ms: Mount[]) => ms.filter((m) => m.type === 'bind').map((m) => [m.destination, m.source, ...(m.options ?? [])].join(' '));
const destinations = (ms: Mount[]) => ms.map((m) => m.destination);

function rejects(fn: () => unknown, kind: string, field: string): void {
  assert.throws(fn, (err: unknown) => err instanceof BerthError && err.kind === kind && err.where.field === field);
}

test('with no request mounts: the defaults, then the pod\'s files and /dev/shm', () => {
  const { spec } = plan([]);
  assert.deepEqual(destinations(spec.mounts!), [
    '/proc', '/dev', '/dev/pts', '/dev/mqueue', '/sys', '/sys/fs/cgroup',
    '/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/dev/shm',
  ]);
  assert.deepEqual(binds(spec.mounts!), [
    `/etc/hostname ${POD_DIR}/hostname rbind rprivate rw`,
    `/etc/hosts ${POD_DIR}/hosts rbind rprivate rw`,
    `/etc/resolv.conf ${POD_DIR}/resolv.conf rbind rprivate rw`,
    `/dev/shm /run/berth/pods/${SANDBOX_ID}/shm rbind rprivate rw`,
  ]);
  assert.equal(spec.linux!.rootfsPropagation, undefined);
});

test('a read-only rootfs makes the pod\'s /etc files read-only, not /dev/shm', () => {
  const { spec } = plan([], facts(), { linux: { security_context: { readonly_rootfs: true } } });
  assert.deepEqual(binds(spec.mounts!).map((b) => b.split(' ').at(-1)), ['ro', 'ro', 'ro', 'rw']);
});

test('a container with its own IPC namespace keeps its own /dev/shm tmpfs', () => {
  const { spec } = plan([], facts(), { linux: { security_context: { namespace_options: { ipc: 'CONTAINER', pid: 'CONTAINER' } } } });
  const shm = spec.mounts!.find((m) => m.destination === '/dev/shm')!;
  assert.equal(shm.type, 'tmpfs');
});

test('an absent pod file is not mounted', () => {
  const f = facts();
  f.pod.files = { hosts: `${POD_DIR}/hosts` };
  assert.deepEqual(binds(plan([], f).spec.mounts!), [`/etc/hosts ${POD_DIR}/hosts rbind rprivate rw`]);
});

test('request mounts: resolved sources, propagation, ro/rw/rro, sorted parents first', () => {
  const f = withHostPaths(facts(), {
    '/srv/data': '/mnt/disk1/data',
    '/srv/logs': ['/srv/logs', 'slave'],
    '/mnt/shared': ['/mnt/shared', 'shared'],
    '/srv/cfg': '/srv/cfg',
  });
  const { spec } = plan(
    [
      { container_path: '/data/deep/er', host_path: '/srv/data', readonly: true },
      { container_path: '/logs', host_path: '/srv/logs', propagation: 'PROPAGATION_HOST_TO_CONTAINER' },
      { container_path: '/shared', host_path: '/mnt/shared', propagation: 'PROPAGATION_BIDIRECTIONAL' },
      { container_path: '/cfg/', host_path: '/srv/cfg', readonly: true, recursive_read_only: true, selinux_relabel: true },
    ],
    f,
  );
  assert.deepEqual(binds(spec.mounts!), [
    '/logs /srv/logs rbind rslave rw',
    '/shared /mnt/shared rbind rshared rw',
    '/cfg /srv/cfg rbind rprivate rro',
    `/etc/hostname ${POD_DIR}/hostname rbind rprivate rw`,
    `/etc/hosts ${POD_DIR}/hosts rbind rprivate rw`,
    `/etc/resolv.conf ${POD_DIR}/resolv.conf rbind rprivate rw`,
    `/dev/shm /run/berth/pods/${SANDBOX_ID}/shm rbind rprivate rw`,
    '/data/deep/er /mnt/disk1/data rbind rprivate ro',
  ]);
  assert.equal(spec.linux!.rootfsPropagation, 'rshared', 'rshared wins over rslave');
  const slaveOnly = plan([{ container_path: '/logs', host_path: '/srv/logs', propagation: 'PROPAGATION_HOST_TO_CONTAINER' }], f).spec;
  assert.equal(slaveOnly.linux!.rootfsPropagation, 'rslave');
});

test('propagation needs the host mount prepared for it', () => {
  const f = withHostPaths(facts(), { '/p': '/p', '/s': ['/s', 'slave'] });
  rejects(() => plan([{ container_path: '/x', host_path: '/p', propagation: 'PROPAGATION_BIDIRECTIONAL' }], f), 'failed-precondition', 'config.mounts[0]');
  rejects(() => plan([{ container_path: '/x', host_path: '/s', propagation: 'PROPAGATION_BIDIRECTIONAL' }], f), 'failed-precondition', 'config.mounts[0]');
  rejects(() => plan([{ container_path: '/x', host_path: '/p', propagation: 'PROPAGATION_HOST_TO_CONTAINER' }], f), 'failed-precondition', 'config.mounts[0]');
  rejects(() => plan([{ container_path: '/x', host_path: '/p', propagation: 7 }], f), 'invalid-argument', 'config.mounts[0].propagation');
});

test('recursive read-only needs readonly, private propagation and runtime support', () => {
  const f = withHostPaths(facts(), { '/p': ['/p', 'shared'] });
  rejects(() => plan([{ container_path: '/x', host_path: '/p', recursive_read_only: true }], f), 'invalid-argument', 'config.mounts[0].recursive_read_only');
  rejects(() => plan([{ container_path: '/x', host_path: '/p', readonly: true, recursive_read_only: true, propagation: 'PROPAGATION_BIDIRECTIONAL' }], f), 'invalid-argument', 'config.mounts[0].recursive_read_only');
  const old = withHostPaths(facts(), { '/p': '/p' });
  old.host.recursiveReadOnly = false;
  rejects(() => plan([{ container_path: '/x', host_path: '/p', readonly: true, recursive_read_only: true }], old), 'unimplemented', 'config.mounts[0].recursive_read_only');
});

test('request mounts replace the pod\'s files and default mounts at the same place; /dev replaces everything below it', () => {
  const f = withHostPaths(facts(), { '/var/lib/kubelet/pods/u/etc-hosts': '/var/lib/kubelet/pods/u/etc-hosts', '/dev': '/dev', '/host/proc': '/host/proc' });
  const { spec } = plan(
    [
      { container_path: '/etc/hosts', host_path: '/var/lib/kubelet/pods/u/etc-hosts' },
      { container_path: '/dev', host_path: '/dev' },
    ],
    f,
  );
  assert.deepEqual(destinations(spec.mounts!), ['/proc', '/sys', '/sys/fs/cgroup', '/dev', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/dev/shm']);
  assert.equal(spec.mounts!.find((m) => m.destination === '/etc/hosts')!.source, '/var/lib/kubelet/pods/u/etc-hosts');
  const proc = plan([{ container_path: '/proc', host_path: '/host/proc', readonly: true }], f).spec;
  assert.equal(proc.mounts!.filter((m) => m.destination === '/proc').length, 1);
  assert.equal(proc.mounts!.find((m) => m.destination === '/proc')!.type, 'bind');
});

test('image Volumes become anonymous volumes unless a request mount covers them', () => {
  const f = withHostPaths(facts(), { '/srv/db': '/srv/db' });
  const image: ImageRunConfig = { Cmd: ['/app'], Volumes: { '/var/lib/mysql': {}, '/var/log': {}, 'data': {} } };
  const p = plan([{ container_path: '/var/lib/mysql', host_path: '/srv/db' }], f, {}, image);
  const dir = `/var/lib/berth/containers/${CONTAINER_ID}/volumes`;
  assert.deepEqual(p.imageVolumes, [{ containerPath: '/var/log', hostPath: `${dir}/0` }, { containerPath: '/data', hostPath: `${dir}/1` }]);
  assert.ok(binds(p.spec.mounts!).includes(`/data ${dir}/1 rbind rprivate rw`), '"data" means "/data"');
  assert.ok(binds(p.spec.mounts!).includes('/var/lib/mysql /srv/db rbind rprivate rw'));
  assert.throws(() => plan([], f, {}, { Cmd: ['/app'], Volumes: { '/var/../../etc': {} } }), /has a "\.\." component/);
});

test('hostile mounts are refused', () => {
  const f = withHostPaths(facts(), { '/srv/a': '/srv/a' });
  rejects(() => plan([{ container_path: '/var/../etc/passwd', host_path: '/srv/a' }], f), 'invalid-argument', 'config.mounts[0].container_path');
  rejects(() => plan([{ container_path: '../../etc', host_path: '/srv/a' }], f), 'invalid-argument', 'config.mounts[0].container_path');
  rejects(() => plan([{ container_path: 'data', host_path: '/srv/a' }], f), 'invalid-argument', 'config.mounts[0].container_path');
  rejects(() => plan([{ container_path: '', host_path: '/srv/a' }], f), 'invalid-argument', 'config.mounts[0].container_path');
  rejects(() => plan([{ container_path: '/', host_path: '/srv/a' }], f), 'invalid-argument', 'config.mounts[0].container_path');
  rejects(() => plan([{ container_path: '/a\0b', host_path: '/srv/a' }], f), 'invalid-argument', 'config.mounts[0].container_path');
  rejects(() => plan([{ container_path: '/a', host_path: 'srv/a' }], f), 'invalid-argument', 'config.mounts[0].host_path');
  rejects(() => plan([{ container_path: '/a', host_path: '/srv/unresolved' }], f), 'internal', 'config.mounts[0].host_path');
  rejects(() => plan([{ container_path: '/a', host_path: '/srv/a' }, { container_path: '/a/', host_path: '/srv/a' }], f), 'invalid-argument', 'config.mounts[1].container_path');
  rejects(() => plan([{ container_path: '/a', image: { image: 'sha256:1' } }], f), 'unimplemented', 'config.mounts[0].image');
  rejects(() => plan([{ container_path: '/a', host_path: '/srv/a', uidMappings: [{ host_id: 1, container_id: 0, length: 1 }] }], f), 'unimplemented', 'config.mounts[0].uidMappings');
  // `.` components and doubled slashes are only cleaned
  assert.ok(binds(plan([{ container_path: '/./a//b/', host_path: '/srv/a' }], f).spec.mounts!).includes('/a/b /srv/a rbind rprivate rw'));
});
