import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError, type ErrorKind } from '../../../src/oci/errors.ts';
import { compileDeviceProgram } from '../../../src/runtime/cgroups/device-bpf.ts';
import { planCgroupWrites, type CgroupPlan } from '../../../src/runtime/cgroups/resource-plan.ts';

const lines = (plan: CgroupPlan): string[] => plan.writes.map((w) => `${w.file}=${w.value}`);

const failsOn = (field: string, kind: ErrorKind = 'invalid-argument') => (err: unknown) =>
  err instanceof BerthError && err.kind === kind && err.where.field === field && err.message.includes(field);

test('every v2 setting lands in its file, in runc order, unified last', () => {
  const plan = planCgroupWrites(
    {
      pids: { limit: 32 },
      memory: { limit: 1000, swap: 3000, reservation: 500 },
      blockIO: { weight: 1000, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 10 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 20 }] },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 0, cpus: '1', mems: '0' },
      hugepageLimits: [{ pageSize: '1GB', limit: 1073741824 }],
      rdma: { mlx5_0: { hcaHandles: 3 } },
      unified: { 'memory.high': '900', 'memory.oom.group': '1' },
    },
    'v2',
  );
  assert.deepEqual(lines(plan), [
    'pids.max=32',
    'memory.swap.max=2000',
    'memory.max=1000',
    'memory.low=500',
    'io.weight=10000',
    'io.max=8:0 rbps=10',
    'io.max=8:0 wiops=20',
    'cpu.weight=100',
    'cpu.max=50000 100000',
    'cpu.max.burst=1000',
    'cpu.idle=0',
    'cpuset.cpus=1',
    'cpuset.mems=0',
    'hugetlb.1GB.max=1073741824',
    'rdma.max=mlx5_0 hca_handle=3',
    'memory.high=900',
    'memory.oom.group=1',
  ]);
  assert.deepEqual(plan.writes.at(-1), { controller: 'memory', file: 'memory.oom.group', value: '1', field: 'linux.resources.unified.memory.oom.group' });
});

test('memory: swap is memory+swap in the spec and swap alone in v2', () => {
  assert.deepEqual(lines(planCgroupWrites({ memory: { limit: 200, swap: 500 } }, 'v2')), ['memory.swap.max=300', 'memory.max=200']);
  // swap == limit: no swap at all; the write is skipped where swap accounting is off.
  const noSwap = planCgroupWrites({ memory: { limit: 200, swap: 200 } }, 'v2');
  assert.deepEqual(lines(noSwap), ['memory.swap.max=0', 'memory.max=200']);
  assert.equal(noSwap.writes[0]?.optional, true);
  assert.deepEqual(lines(planCgroupWrites({ memory: { limit: -1 } }, 'v2')), ['memory.swap.max=max', 'memory.max=max']);
  assert.deepEqual(lines(planCgroupWrites({ memory: { limit: 200, swap: -1 } }, 'v2')), ['memory.swap.max=max', 'memory.max=200']);
  assert.deepEqual(lines(planCgroupWrites({ memory: { limit: 200 } }, 'v2')), ['memory.max=200']);
});

test('memory: swap without a limit, or below it, is refused naming the field', () => {
  assert.throws(() => planCgroupWrites({ memory: { swap: 500 } }, 'v2'), failsOn('linux.resources.memory.swap'));
  assert.throws(() => planCgroupWrites({ memory: { limit: 500, swap: 100 } }, 'v2'), failsOn('linux.resources.memory.swap'));
});

test('memory: checkBeforeUpdate refuses a limit at or below current usage', () => {
  const r = { memory: { limit: 1000, checkBeforeUpdate: true } };
  assert.throws(() => planCgroupWrites(r, 'v2', { currentMemoryUsage: 1000n }), failsOn('linux.resources.memory.limit', 'failed-precondition'));
  assert.deepEqual(lines(planCgroupWrites(r, 'v2', { currentMemoryUsage: 999n })), ['memory.max=1000']);
});

test('settings v2 cannot express become warnings, not silent drops', () => {
  const plan = planCgroupWrites(
    { memory: { swappiness: 10, disableOOMKiller: true, kernel: 1 }, cpu: { realtimeRuntime: 100, realtimePeriod: 1000 }, blockIO: { leafWeight: 100 } },
    'v2',
  );
  assert.deepEqual(plan.writes, []);
  assert.equal(plan.warnings.length, 5);
  for (const field of ['swappiness', 'disableOOMKiller', 'memory.kernel', 'realtime', 'leafWeight']) {
    assert.ok(plan.warnings.some((w) => w.includes(field)), field);
  }
});

test('cpu: quota and period in one cpu.max line; a lone quota keeps the period', () => {
  assert.deepEqual(lines(planCgroupWrites({ cpu: { quota: -1, period: 100000 } }, 'v2')), ['cpu.max=max 100000']);
  assert.deepEqual(lines(planCgroupWrites({ cpu: { quota: 20000 } }, 'v2')), ['cpu.max=20000']);
  assert.deepEqual(lines(planCgroupWrites({ cpu: { shares: 2 } }, 'v2')), ['cpu.weight=1']);
});

test('io: BFQ takes weights as they are, io.weight takes them converted', () => {
  const bfq = planCgroupWrites({ blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }] } }, 'v2', { ioBfqWeight: true });
  assert.deepEqual(lines(bfq), ['io.bfq.weight=500', 'io.bfq.weight=8:0 300']);
  const plain = planCgroupWrites({ blockIO: { weight: 10, weightDevice: [{ major: 8, minor: 0, weight: 300 }] } }, 'v2');
  assert.deepEqual(lines(plain), ['io.weight=1']);
  assert.match(plain.warnings[0] ?? '', /weightDevice\[0\]\.weight .*BFQ/);
});

test('devices: on v2 a device program instead of file writes; malformed rules are refused', () => {
  const devices = [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }];
  const plan = planCgroupWrites({ devices, pids: { limit: 5 } }, 'v2');
  assert.deepEqual(lines(plan), ['pids.max=5']);
  assert.deepEqual(plan.warnings, []);
  assert.deepEqual(plan.deviceProgram, compileDeviceProgram(devices));
  assert.equal(planCgroupWrites({ devices: [] }, 'v2').deviceProgram, undefined, 'no rules: the program in place stays');
  assert.equal(planCgroupWrites({ pids: { limit: 5 } }, 'v2').deviceProgram, undefined);
  assert.equal(planCgroupWrites({ devices }, 'v1').deviceProgram, undefined, 'v1 writes devices.allow/deny');
  assert.throws(() => planCgroupWrites({ devices: [{ allow: true, access: 'x' }] }, 'v2'), failsOn('linux.resources.devices[0].access'));
});

test('network classes and priorities do not exist on v2', () => {
  assert.throws(() => planCgroupWrites({ network: { classID: 1 } }, 'v2'), failsOn('linux.resources.network', 'unimplemented'));
  assert.deepEqual(planCgroupWrites({ network: {} }, 'v2').writes, []);
});

test('unified keys must be plain cgroup file names', () => {
  for (const key of ['../memory.max', 'cpu/x.max', 'memory', '']) {
    assert.throws(
      () => planCgroupWrites({ unified: { [key]: '1' } }, 'v2'),
      (err: unknown) => err instanceof BerthError && err.kind === 'invalid-argument' && err.where.field === `linux.resources.unified.${key}` &&
        err.message.includes(JSON.stringify(key)),
    );
  }
  assert.deepEqual(lines(planCgroupWrites({ unified: { 'cgroup.max.descendants': '10' } }, 'v2')), ['cgroup.max.descendants=10']);
});
