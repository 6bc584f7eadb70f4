import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError, type ErrorKind } from '../../../src/oci/errors.ts';
import { cgroupHostFromProc, type CgroupHost } from '../../../src/runtime/cgroups/cgroup-host.ts';
import { parseCgroupsPath, resolveCgroupPaths } from '../../../src/runtime/cgroups/cgroups-path.ts';

const fails = (kind: ErrorKind, text: string) => (err: unknown) =>
  err instanceof BerthError && err.kind === kind && err.where.field === 'linux.cgroupsPath' && err.message.includes(text);

test('an absolute path is kept, normalized', () => {
  assert.deepEqual(parseCgroupsPath('/berth//pods/./c1/', 'c1'), { kind: 'absolute', inner: 'berth/pods/c1' });
});

test('a relative path stays relative', () => {
  assert.deepEqual(parseCgroupsPath('berth/c1', 'c1'), { kind: 'relative', inner: 'berth/c1' });
});

test('an empty path is the container id, relative to the runtime cgroup (what runc 1.1.5 does)', () => {
  assert.deepEqual(parseCgroupsPath('', 'c1'), { kind: 'relative', inner: 'c1' });
  assert.deepEqual(parseCgroupsPath(undefined, 'c1'), { kind: 'relative', inner: 'c1' });
  assert.throws(() => parseCgroupsPath(undefined, '../x'), (err: unknown) => err instanceof BerthError && err.where.field === 'id');
});

test('".." anywhere is refused instead of silently clamped', () => {
  assert.throws(() => parseCgroupsPath('/a/../../etc', 'c1'), fails('invalid-argument', '".."'));
  assert.throws(() => parseCgroupsPath('..', 'c1'), fails('invalid-argument', '".."'));
  assert.throws(() => parseCgroupsPath('a/..', 'c1'), fails('invalid-argument', '".."'));
});

test('a path that names the hierarchy root is refused', () => {
  assert.throws(() => parseCgroupsPath('/', 'c1'), fails('invalid-argument', 'root'));
  assert.throws(() => parseCgroupsPath('./', 'c1'), fails('invalid-argument', 'root'));
});

test('the systemd form and the systemd driver are unimplemented, said plainly', () => {
  assert.throws(() => parseCgroupsPath('system.slice:docker:abc', 'c1'), fails('unimplemented', 'systemd'));
  assert.throws(() => parseCgroupsPath('/a', 'c1', { systemdCgroup: true }), fails('unimplemented', 'systemd'));
  // Colons inside an ordinary path are just characters.
  assert.deepEqual(parseCgroupsPath('/a:b:c/d', 'c1'), { kind: 'absolute', inner: 'a:b:c/d' });
});

test('NUL bytes are refused', () => {
  assert.throws(() => parseCgroupsPath('/a\0b', 'c1'), fails('invalid-argument', 'NUL'));
});

const v1Host = cgroupHostFromProc(
  `32 31 0:29 / /cg/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /cg/memory rw - cgroup cgroup rw,memory
36 31 0:33 / /cg/devices rw - cgroup cgroup rw,devices
41 31 0:38 / /cg/unified rw - cgroup2 cgroup2 rw
`,
  '3:cpu,cpuacct:/\n4:memory:/process_api/x\n5:devices:/\n0::/\n',
  '/cg',
);

test('v1: an absolute path sits below each hierarchy root; co-mounted controllers share it', () => {
  const { paths, mountpoints } = resolveCgroupPaths(v1Host, parseCgroupsPath('/berth/c1', 'c1'));
  assert.deepEqual(paths, {
    cpu: '/cg/cpu,cpuacct/berth/c1',
    cpuacct: '/cg/cpu,cpuacct/berth/c1',
    memory: '/cg/memory/berth/c1',
    devices: '/cg/devices/berth/c1',
    unified: '/cg/unified/berth/c1',
  });
  assert.equal(mountpoints.memory, '/cg/memory');
});

test('v1: a relative path sits below the runtime own cgroup, per hierarchy', () => {
  const { paths } = resolveCgroupPaths(v1Host, parseCgroupsPath('', 'c1'));
  assert.equal(paths.memory, '/cg/memory/process_api/x/c1');
  assert.equal(paths.devices, '/cg/devices/c1');
});

test('v1: inside a cgroup namespace the mount root is stripped from the own cgroup', () => {
  const host = cgroupHostFromProc('36 31 0:33 /ctr /cg/devices rw - cgroup cgroup rw,devices\n', '5:devices:/ctr/inner\n', '/cg');
  assert.equal(resolveCgroupPaths(host, parseCgroupsPath('c1', 'c1')).paths.devices, '/cg/devices/inner/c1');
  const outside = cgroupHostFromProc('36 31 0:33 /ctr /cg/devices rw - cgroup cgroup rw,devices\n', '5:devices:/other\n', '/cg');
  assert.throws(() => resolveCgroupPaths(outside, parseCgroupsPath('c1', 'c1')), (err: unknown) => err instanceof BerthError && err.kind === 'failed-precondition');
});

test('v1 without the devices controller is refused unless asked to skip it', () => {
  const host = cgroupHostFromProc('35 31 0:32 / /cg/memory rw - cgroup cgroup rw,memory\n', '4:memory:/\n', '/cg');
  assert.throws(() => resolveCgroupPaths(host, parseCgroupsPath('/a', 'a')), /devices/);
  assert.deepEqual(resolveCgroupPaths(host, parseCgroupsPath('/a', 'a'), { skipDevices: true }).paths, { memory: '/cg/memory/a' });
});

test('v2: absolute below the root; relative below the parent of the runtime own cgroup (as runc)', () => {
  const host: CgroupHost = cgroupHostFromProc('30 23 0:26 / /cg rw - cgroup2 cgroup2 rw\n', '0::/user.slice/session-1.scope\n', '/cg');
  assert.deepEqual(resolveCgroupPaths(host, parseCgroupsPath('/berth/c1', 'c1')).paths, { unified: '/cg/berth/c1' });
  assert.deepEqual(resolveCgroupPaths(host, parseCgroupsPath('', 'c1')).paths, { unified: '/cg/user.slice/c1' });
  const atRoot = cgroupHostFromProc('30 23 0:26 / /cg rw - cgroup2 cgroup2 rw\n', '0::/\n', '/cg');
  assert.deepEqual(resolveCgroupPaths(atRoot, parseCgroupsPath('c1', 'c1')).paths, { unified: '/cg/c1' });
});
