// The cgroup v1 manager against a fake set of hierarchies in a temp dir (the real ones are
// exercised in test/integration/cgroups).
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../../src/oci/errors.ts';
import { cgroupManagerFromJSON, openCgroupManager, type CgroupManager } from '../../../src/runtime/cgroups/cgroup-manager.ts';
import { fakeTree, type FakeTree } from './fake-cgroupfs.ts';

let tree: FakeTree;
let manager: CgroupManager;
const dir = (hierarchy: string): string => join(tree.root, hierarchy, 'berth', 'c1');

beforeEach(async () => {
  tree = await fakeTree(
    (root) => `32 31 0:29 / ${root}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / ${root}/cpuset rw - cgroup cgroup rw,cpuset
35 31 0:32 / ${root}/memory rw - cgroup cgroup rw,memory
36 31 0:33 / ${root}/devices rw - cgroup cgroup rw,devices
37 31 0:34 / ${root}/freezer rw - cgroup cgroup rw,freezer
39 31 0:36 / ${root}/pids rw - cgroup cgroup rw,pids
`,
    '6:pids:/\n5:freezer:/\n4:devices:/\n3:memory:/\n2:cpuset:/\n1:cpu,cpuacct:/\n',
  );
  for (const h of ['cpu,cpuacct', 'memory', 'devices', 'freezer', 'pids']) await tree.files(h, { 'cgroup.procs': '' });
  await tree.files('cpuset', { 'cpuset.cpus': '0-1\n', 'cpuset.mems': '0\n' });
  manager = await openCgroupManager({ id: 'c1', cgroupsPath: '/berth/c1', hostOptions: tree.hostOptions });
});

afterEach(async () => {
  await tree.cleanup();
});

test('one directory per hierarchy; co-mounted cpu and cpuacct share one', () => {
  assert.equal(manager.mode, 'v1');
  assert.deepEqual(manager.paths(), {
    cpu: dir('cpu,cpuacct'),
    cpuacct: dir('cpu,cpuacct'),
    cpuset: dir('cpuset'),
    memory: dir('memory'),
    devices: dir('devices'),
    freezer: dir('freezer'),
    pids: dir('pids'),
  });
});

test('create copies cpus and mems into every empty cpuset level, as a task cannot join without them', async () => {
  // What the kernel does on mkdir in the cpuset hierarchy: empty cpus and mems.
  await tree.files('cpuset/berth', { 'cpuset.cpus': '\n', 'cpuset.mems': '\n' });
  await tree.files('cpuset/berth/c1', { 'cpuset.cpus': '\n', 'cpuset.mems': '\n' });
  await manager.create();
  assert.equal(await tree.read('cpuset/berth/cpuset.cpus'), '0-1');
  assert.equal(await tree.read('cpuset/berth/c1/cpuset.mems'), '0');
  // berth already existed in cpuset; everywhere else create made it.
  assert.deepEqual(manager.toJSON().createdParents.sort(), ['cpu,cpuacct', 'devices', 'freezer', 'memory', 'pids'].map((h) => join(tree.root, h, 'berth')));
});

test('set writes each limit into its own hierarchy, reading the current memory limit to order memsw', async () => {
  await manager.create();
  const unlimited = '9223372036854771712\n';
  await tree.files(dir('memory'), {
    'memory.limit_in_bytes': unlimited, 'memory.memsw.limit_in_bytes': unlimited, 'memory.swappiness': '60\n', 'memory.oom_control': '',
  });
  await tree.files(dir('cpu,cpuacct'), { 'cpu.shares': '1024\n', 'cpu.cfs_quota_us': '-1\n', 'cpu.cfs_period_us': '100000\n' });
  await tree.files(dir('pids'), { 'pids.max': 'max\n' });
  await tree.files(dir('devices'), { 'devices.allow': '', 'devices.deny': '' });
  const warnings = await manager.set({
    memory: { limit: 1048576, swap: 2097152, swappiness: 0, kernel: 5 },
    cpu: { shares: 256, quota: 10000 },
    pids: { limit: 5 },
    devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
  });
  assert.equal(await tree.read(join(dir('memory'), 'memory.limit_in_bytes')), '1048576');
  assert.equal(await tree.read(join(dir('memory'), 'memory.memsw.limit_in_bytes')), '2097152');
  assert.equal(await tree.read(join(dir('memory'), 'memory.swappiness')), '0');
  assert.equal(await tree.read(join(dir('cpu,cpuacct'), 'cpu.shares')), '256');
  assert.equal(await tree.read(join(dir('cpu,cpuacct'), 'cpu.cfs_quota_us')), '10000');
  assert.equal(await tree.read(join(dir('pids'), 'pids.max')), '5');
  assert.equal(await tree.read(join(dir('devices'), 'devices.deny')), 'a');
  assert.equal(await tree.read(join(dir('devices'), 'devices.allow')), 'c 1:3 rwm');
  assert.equal(warnings.length, 1);
});

test('a limit for a controller this host does not mount fails before anything is written', async () => {
  await manager.create();
  await tree.files(dir('memory'), { 'memory.limit_in_bytes': 'unchanged' });
  await assert.rejects(
    manager.set({ memory: { limit: 100 }, network: { classID: 1 } }),
    (err: unknown) =>
      err instanceof BerthError && err.kind === 'failed-precondition' && err.where.field === 'linux.resources.network.classID' && err.message.includes('net_cls'),
  );
  assert.equal(await tree.read(join(dir('memory'), 'memory.limit_in_bytes')), 'unchanged');
  await assert.rejects(manager.set({ unified: { 'memory.high': '1' } }), (err: unknown) => err instanceof BerthError && err.where.field === 'linux.resources.unified');
});

test('apply puts the pid in every hierarchy once', async () => {
  await manager.create();
  for (const h of ['cpu,cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'pids']) await tree.files(dir(h), { 'cgroup.procs': '' });
  await manager.apply(31337);
  for (const h of ['cpu,cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'pids']) assert.equal(await tree.read(join(dir(h), 'cgroup.procs')), '31337', h);
  assert.deepEqual(await manager.pids(), [31337]);
});

test('apply before create says to create first', async () => {
  await assert.rejects(manager.apply(1), (err: unknown) => err instanceof BerthError && err.kind === 'failed-precondition' && err.message.includes('create'));
});

test('freezer: freeze writes FROZEN and returns once it reads back; state sees through ancestor freezing', async () => {
  await manager.create();
  await tree.files(dir('freezer'), { 'freezer.state': 'THAWED\n', 'freezer.self_freezing': '0\n' });
  assert.equal(await manager.state(), 'running');
  await manager.freeze();
  assert.equal(await tree.read(join(dir('freezer'), 'freezer.state')), 'FROZEN');
  assert.equal(await manager.state(), 'running', 'FROZEN with self_freezing 0 means a parent is frozen, not this container');
  await tree.write(join(dir('freezer'), 'freezer.self_freezing'), '1\n');
  assert.equal(await manager.state(), 'paused');
  await manager.thaw();
  assert.equal(await manager.state(), 'running');
});

test('freezer: freezing a cgroup that is gone is a not-found error naming the file', async () => {
  await manager.create();
  await assert.rejects(manager.freeze(), (err: unknown) =>
    err instanceof BerthError && err.kind === 'not-found' && err.where.path === join(dir('freezer'), 'freezer.state'));
});

test('stats read cpuacct, cpu, cpuset, memory, pids and blkio files', async () => {
  await manager.create();
  await tree.files(dir('cpu,cpuacct'), {
    'cpuacct.stat': 'user 2\nsystem 1\n',
    'cpuacct.usage': '30000000\n',
    'cpuacct.usage_percpu': '20000000 10000000 \n',
    'cpuacct.usage_all': 'cpu user system\n0 15000000 5000000\n1 10000000 0\n',
    'cpu.stat': 'nr_periods 4\nnr_throttled 1\nthrottled_time 999\n',
  });
  await tree.files(dir('cpuset'), { 'cpuset.cpus': '0-1\n', 'cpuset.mems': '0\n', 'cpuset.sched_load_balance': '1\n', 'cpuset.sched_relax_domain_level': '-1\n' });
  await tree.files(dir('memory'), {
    'memory.stat': 'cache 4096\nrss 8192\n',
    'memory.usage_in_bytes': '12288\n', 'memory.max_usage_in_bytes': '16384\n', 'memory.failcnt': '2\n', 'memory.limit_in_bytes': '1048576\n',
    'memory.memsw.usage_in_bytes': '12288\n', 'memory.memsw.max_usage_in_bytes': '16384\n', 'memory.memsw.failcnt': '0\n', 'memory.memsw.limit_in_bytes': '2097152\n',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
  });
  await tree.files(dir('pids'), { 'pids.current': '2\n', 'pids.max': 'max\n' });
  const s = await manager.stats();
  assert.deepEqual(s.cpu.usage, {
    total: 30000000n, percpu: [20000000n, 10000000n], percpuKernel: [5000000n, 0n], percpuUser: [15000000n, 10000000n], kernel: 10000000n, user: 20000000n,
  });
  assert.deepEqual(s.cpu.throttling, { periods: 4n, throttledPeriods: 1n, throttledTime: 999n });
  assert.deepEqual([s.cpuset.cpus, s.cpuset.schedRelaxDomainLevel], [[0, 1], -1n]);
  assert.deepEqual(s.memory.usage, { usage: 12288n, max: 16384n, failcnt: 2n, limit: 1048576n });
  assert.equal(s.memory.swap.limit, 2097152n);
  assert.deepEqual(s.memory.kernel, { usage: 0n, max: 0n, failcnt: 0n, limit: 0n }); // no kmem files: accounting off
  assert.equal(s.memory.cache, 4096n);
  assert.deepEqual(s.pids, { current: 2n, limit: 0n });
  assert.equal(await manager.oomKillCount(), 2n);
});

test('destroy removes every hierarchy directory and the parents create made', async () => {
  await manager.create();
  await manager.destroy();
  for (const h of ['cpu,cpuacct', 'memory', 'devices', 'freezer', 'pids']) assert.equal(existsSync(join(tree.root, h, 'berth')), false, h);
  assert.equal(existsSync(join(tree.root, 'cpuset')), true);
  assert.equal(await manager.exists(), false);
  await manager.destroy();
});
