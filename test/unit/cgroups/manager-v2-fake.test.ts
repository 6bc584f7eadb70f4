// The cgroup v2 manager against a fake unified hierarchy in a temp dir (this host is v1).
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../../src/oci/errors.ts';
import { cgroupManagerFromJSON, openCgroupManager, type CgroupManager } from '../../../src/runtime/cgroups/cgroup-manager.ts';
import { compileDeviceProgram } from '../../../src/runtime/cgroups/device-bpf.ts';
import { fakeTree, type FakeTree } from './fake-cgroupfs.ts';

let tree: FakeTree;
let manager: CgroupManager;
let leaf: string;

/** The interface files the kernel would put in a new cgroup. */
const KERNEL_FILES: Record<string, string> = {
  'cgroup.procs': '',
  'cgroup.type': 'domain\n',
  'cgroup.freeze': '0\n',
  'cgroup.events': 'populated 0\nfrozen 0\n',
  'cgroup.controllers': 'cpu io memory pids\n',
  'cgroup.subtree_control': '',
  'memory.max': 'max\n',
  'memory.swap.max': 'max\n',
  'memory.low': '0\n',
  'pids.max': 'max\n',
  'cpu.weight': '100\n',
  'cpu.max': 'max 100000\n',
  'io.weight': 'default 100\n',
  'io.max': '',
  'cpuset.cpus': '',
  'cpuset.mems': '',
};

beforeEach(async () => {
  tree = await fakeTree((root) => `30 23 0:26 / ${root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`, '0::/user.slice/session-1.scope\n');
  await tree.files('.', { 'cgroup.controllers': 'cpu io memory pids hugetlb\n', 'cgroup.subtree_control': '' });
  manager = await openCgroupManager({ id: 'c1', hostOptions: tree.hostOptions });
  leaf = join(tree.root, 'user.slice', 'c1');
});

afterEach(async () => {
  await tree.cleanup();
});

test('a relative cgroup sits under the parent of the runtime own cgroup; create enables controllers above it', async () => {
  assert.equal(manager.mode, 'v2');
  assert.deepEqual(manager.paths(), { unified: leaf });
  await manager.create();
  assert.deepEqual(await readdir(leaf), []);
  assert.equal(await tree.read('cgroup.subtree_control'), '+cpu +io +memory +pids +hugetlb');
  assert.deepEqual(manager.toJSON().createdParents, [join(tree.root, 'user.slice')]);
  await manager.create(); // idempotent
});

test('existing parents get controllers enabled too and are not recorded as made by us', async () => {
  await tree.files('user.slice', { 'cgroup.controllers': 'memory pids\n', 'cgroup.subtree_control': '' });
  await manager.create();
  assert.equal(await tree.read('user.slice/cgroup.subtree_control'), '+memory +pids');
  assert.deepEqual(manager.toJSON().createdParents, []);
});

test('a cgroup the kernel marks "domain invalid" is refused with the field to change', async () => {
  await tree.files('user.slice/c1', { 'cgroup.type': 'domain invalid\n' });
  await assert.rejects(manager.create(), (err: unknown) => err instanceof BerthError && err.where.field === 'linux.cgroupsPath');
});

test('set writes the limits into the cgroup files', async () => {
  await manager.create();
  await tree.files(leaf, KERNEL_FILES);
  const warnings = await manager.set({
    memory: { limit: 268435456, swap: 536870912, reservation: 134217728, swappiness: 5 },
    pids: { limit: 99 },
    cpu: { shares: 2048, quota: 25000, period: 50000, cpus: '0', mems: '0' },
    blockIO: { weight: 1000, throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
    unified: { 'memory.low': '1' },
  });
  const file = (name: string) => tree.read(join(leaf, name));
  assert.equal(await file('memory.max'), '268435456');
  assert.equal(await file('memory.swap.max'), '268435456');
  assert.equal(await file('memory.low'), '1'); // unified wins over memory.reservation
  assert.equal(await file('pids.max'), '99');
  assert.equal(await file('cpu.weight'), '174');
  assert.equal(await file('cpu.max'), '25000 50000');
  assert.equal(await file('io.weight'), '10000');
  assert.equal(await file('io.max'), '8:0 wbps=1000');
  assert.equal(await file('cpuset.cpus'), '0');
  assert.deepEqual(warnings, ['linux.resources.memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness']);
});

test('without swap accounting, "no swap" is skipped but a real swap limit fails naming the field', async () => {
  await manager.create();
  const { 'memory.swap.max': _, ...noSwap } = KERNEL_FILES;
  await tree.files(leaf, noSwap);
  await manager.set({ memory: { limit: 1000, swap: 1000 } });
  assert.equal(await tree.read(join(leaf, 'memory.max')), '1000');
  await assert.rejects(
    manager.set({ memory: { limit: 1000, swap: 2000 } }),
    (err: unknown) =>
      err instanceof BerthError && err.kind === 'failed-precondition' && err.where.field === 'linux.resources.memory.swap' &&
      err.where.errno === 'ENOENT' && err.where.path === join(leaf, 'memory.swap.max'),
  );
});

test('a limit whose controller file is missing fails with field, path and errno', async () => {
  await manager.create();
  await tree.files(leaf, KERNEL_FILES);
  await assert.rejects(manager.set({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }), (err: unknown) =>
    err instanceof BerthError && err.where.field === 'linux.resources.hugepageLimits[0]' && err.where.errno === 'ENOENT' &&
    err.message.includes('hugetlb.2MB.max'));
});

test('device rules become a program attached to the cgroup; a failed attach fails set', async () => {
  await manager.create();
  await tree.files(leaf, KERNEL_FILES);
  const attached: Array<{ dir: string; program: Uint8Array }> = [];
  const recording = cgroupManagerFromJSON(manager.toJSON(), { attachDeviceProgram: (dir, program) => void attached.push({ dir, program }) });
  const devices = [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }];
  assert.deepEqual(await recording.set({ devices, pids: { limit: 9 } }), []);
  assert.equal(await tree.read(join(leaf, 'pids.max')), '9');
  assert.deepEqual(attached, [{ dir: leaf, program: compileDeviceProgram(devices) }]);
  await recording.set({ pids: { limit: 10 } });
  assert.equal(attached.length, 1, 'no device rules: the program is left as it is');

  const failing = cgroupManagerFromJSON(manager.toJSON(), {
    attachDeviceProgram: () => {
      throw new BerthError('permission-denied', 'cannot enforce linux.resources.devices on cgroup v2: bpf(BPF_PROG_LOAD): operation not permitted', { field: 'linux.resources.devices' });
    },
  });
  await assert.rejects(failing.set({ devices }), (err: unknown) => err instanceof BerthError && err.where.field === 'linux.resources.devices');
});

test('apply writes the pid; pids lists the cgroup and, recursively, its sub-cgroups', async () => {
  await manager.create();
  await tree.files(leaf, KERNEL_FILES);
  await manager.apply(4242);
  assert.equal(await tree.read(join(leaf, 'cgroup.procs')), '4242');
  await tree.files(join(leaf, 'sub'), { 'cgroup.procs': '7\n8\n' });
  assert.deepEqual(await manager.pids(), [4242]);
  assert.deepEqual(await manager.pids(true), [4242, 7, 8]);
  await assert.rejects(manager.apply(0), (err: unknown) => err instanceof BerthError && err.kind === 'invalid-argument');
});

test('freeze waits for cgroup.events to say frozen; state follows the files', async () => {
  await manager.create();
  await tree.files(leaf, KERNEL_FILES);
  assert.equal(await manager.state(), 'running');
  let resolved = false;
  const freezing = manager.freeze().then(() => {
    resolved = true;
  });
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(resolved, false, 'freeze returned before the kernel reported frozen');
  assert.equal(await tree.read(join(leaf, 'cgroup.freeze')), '1');
  assert.equal(await manager.state(), 'pausing');
  await tree.write(join(leaf, 'cgroup.events'), 'populated 1\nfrozen 1\n');
  await freezing;
  assert.equal(await manager.state(), 'paused');
  await manager.thaw();
  assert.equal(await tree.read(join(leaf, 'cgroup.freeze')), '0');
  assert.equal(await manager.state(), 'running');
});

test('a freeze that never completes times out and thaws again', async () => {
  await manager.create();
  await tree.files(leaf, KERNEL_FILES);
  const slow = cgroupManagerFromJSON(manager.toJSON(), { freezeTimeoutMs: 50 });
  await assert.rejects(slow.freeze(), /did not freeze within 50 ms/);
  assert.equal(await tree.read(join(leaf, 'cgroup.freeze')), '0');
});

test('stats read the v2 files and report them in v1 terms', async () => {
  await manager.create();
  await tree.files(leaf, {
    ...KERNEL_FILES,
    'pids.current': '3\n',
    'pids.max': '100\n',
    'memory.stat': 'anon 4096\nfile 8192\n',
    'memory.current': '12288\n',
    'memory.peak': '20480\n',
    'memory.max': '1048576\n',
    'memory.events': 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n',
    'memory.swap.current': '100\n',
    'memory.swap.max': '1000\n',
    'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 30\n',
    'io.stat': '8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n',
    'cpuset.cpus.effective': '0-1\n',
    'cpuset.mems.effective': '0\n',
  });
  const s = await manager.stats();
  assert.deepEqual(s.pids, { current: 3n, limit: 100n });
  assert.deepEqual(s.memory.usage, { usage: 12288n, max: 20480n, failcnt: 4n, limit: 1048576n });
  assert.deepEqual(s.memory.swap, { usage: 12388n, max: 0n, failcnt: 0n, limit: 1049576n });
  assert.equal(s.memory.cache, 8192n);
  assert.deepEqual(s.memory.raw, { anon: 4096n, file: 8192n });
  assert.deepEqual(s.cpu.usage, { total: 1500000n, percpu: [], percpuKernel: [], percpuUser: [], kernel: 500000n, user: 1000000n });
  assert.deepEqual(s.cpu.throttling, { periods: 10n, throttledPeriods: 2n, throttledTime: 30000n });
  assert.deepEqual(s.blkio.ioServiceBytesRecursive.map((e) => `${e.op}=${e.value}`), ['Read=512', 'Write=1024']);
  assert.deepEqual(s.cpuset.cpus, [0, 1]);
  assert.equal(await manager.oomKillCount(), 1n);
});

test('destroy removes the cgroup and the parents it made, and is happy when they are gone', async () => {
  await manager.create();
  assert.equal(await manager.exists(), true);
  await manager.destroy();
  assert.equal(await manager.exists(), false);
  assert.deepEqual(await readdir(tree.root), ['cgroup.controllers', 'cgroup.subtree_control']);
  await manager.destroy();
  await cgroupManagerFromJSON(manager.toJSON()).destroy(); // a later process, nothing left to do
});

test('destroy gives up with a clear error when the cgroup cannot be removed', async () => {
  await manager.create();
  await tree.files(leaf, { 'cgroup.procs': '1\n' }); // on a real cgroupfs: EBUSY while a process is in it
  await assert.rejects(manager.destroy(), (err: unknown) => err instanceof BerthError && err.kind === 'failed-precondition' && err.message.includes(leaf));
  await rm(join(leaf, 'cgroup.procs'));
  await manager.destroy();
  assert.equal(await manager.exists(), false);
});
