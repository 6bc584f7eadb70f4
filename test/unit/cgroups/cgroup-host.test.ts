import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../../src/oci/errors.ts';
import { cgroupHostFromProc, detectCgroupHost, parseMountinfo, parseProcCgroup } from '../../../src/runtime/cgroups/cgroup-host.ts';

// This development machine: every v1 controller on its own, plus a cgroup2 mount ("hybrid").
const HYBRID_MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_CGROUP = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/58a0
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;

test('parseMountinfo reads id, mount root, mountpoint, optional fields, type and super options, unescaping octal', () => {
  const [m] = parseMountinfo('50 31 0:40 /a\\040b /mnt/with\\040space rw shared:5 - cgroup cgroup rw,cpu,cpuacct\n');
  assert.deepEqual(m, { id: 50, mountRoot: '/a b', mountpoint: '/mnt/with space', fstype: 'cgroup', superOptions: ['rw', 'cpu', 'cpuacct'], optional: ['shared:5'] });
});

test('parseProcCgroup maps each controller list to its path, v2 under the empty list', () => {
  const own = parseProcCgroup(HYBRID_CGROUP);
  assert.equal(own.get('memory'), '/process_api/58a0');
  assert.equal(own.get('name=systemd'), '/');
  assert.equal(own.get(''), '/');
});

test('a hybrid host is v1, with every controller hierarchy and the unified mount on the side', () => {
  const host = cgroupHostFromProc(HYBRID_MOUNTINFO, HYBRID_CGROUP);
  assert.equal(host.mode, 'v1');
  if (host.mode !== 'v1') return;
  assert.deepEqual(host.hierarchies.map((h) => h.controllers.join(',')), [
    'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'name=systemd',
  ]);
  const memory = host.hierarchies.find((h) => h.controllers.includes('memory'));
  assert.deepEqual(memory, { controllers: ['memory'], mountpoint: '/sys/fs/cgroup/memory', mountRoot: '/', ownCgroup: '/process_api/58a0' });
  assert.equal(host.unified?.mountpoint, '/sys/fs/cgroup/unified');
});

test('a cgroup2 mount at the root means v2', () => {
  const host = cgroupHostFromProc(
    '30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n',
    '0::/user.slice/user-0.slice/session-1.scope\n',
  );
  assert.deepEqual(host, {
    mode: 'v2',
    root: '/sys/fs/cgroup',
    unified: { controllers: [], mountpoint: '/sys/fs/cgroup', mountRoot: '/', ownCgroup: '/user.slice/user-0.slice/session-1.scope' },
  });
});

test('co-mounted controllers form one hierarchy; bind mounts of it do not add another', () => {
  const host = cgroupHostFromProc(
    `32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 31 0:29 / /sys/fs/cgroup/cpu-again rw - cgroup cgroup rw,cpu,cpuacct
34 31 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices
`,
    '3:cpu,cpuacct:/x\n2:devices:/\n',
  );
  assert.equal(host.mode, 'v1');
  if (host.mode !== 'v1') return;
  assert.equal(host.hierarchies.length, 2);
  assert.deepEqual(host.hierarchies[0], { controllers: ['cpu', 'cpuacct'], mountpoint: '/sys/fs/cgroup/cpu,cpuacct', mountRoot: '/', ownCgroup: '/x' });
  assert.equal(host.unified, undefined);
});

test('mounts outside the configured root are ignored, so tests can use a fake tree', () => {
  const host = cgroupHostFromProc(HYBRID_MOUNTINFO + '60 1 0:50 / /tmp/fake/cgroup rw - cgroup2 cgroup2 rw\n', '0::/\n', '/tmp/fake/cgroup/');
  assert.equal(host.mode, 'v2');
  assert.equal(host.root, '/tmp/fake/cgroup');
});

test('no cgroup mount under the root is a not-found error naming the root', () => {
  assert.throws(
    () => cgroupHostFromProc('22 27 0:21 / /proc rw - proc proc rw\n', '', '/sys/fs/cgroup'),
    (err: unknown) => err instanceof BerthError && err.kind === 'not-found' && err.message.includes('/sys/fs/cgroup'),
  );
});

test('detectCgroupHost reads the files it is pointed at', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cg-host-'));
  try {
    await writeFile(join(dir, 'mountinfo'), HYBRID_MOUNTINFO);
    await writeFile(join(dir, 'cgroup'), HYBRID_CGROUP);
    const host = await detectCgroupHost({ mountinfoPath: join(dir, 'mountinfo'), procCgroupPath: join(dir, 'cgroup') });
    assert.equal(host.mode, 'v1');
    await assert.rejects(detectCgroupHost({ mountinfoPath: join(dir, 'missing') }), (err: unknown) => err instanceof BerthError && err.kind === 'not-found');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
