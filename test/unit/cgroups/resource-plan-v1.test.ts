import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError, type ErrorKind } from '../../../src/oci/errors.ts';
import type { Resources } from '../../../src/oci/runtime-spec.ts';
import { planCgroupWrites, type CgroupPlan } from '../../../src/runtime/cgroups/resource-plan.ts';

/** "controller/file=value" per write, the shape easiest to read in a diff. */
const lines = (plan: CgroupPlan): string[] => plan.writes.map((w) => `${w.controller}/${w.file}=${w.value}`);

const failsOn = (field: string, kind: ErrorKind = 'invalid-argument') => (err: unknown) =>
  err instanceof BerthError && err.kind === kind && err.where.field === field && err.message.includes(field);

test('no resources, no writes', () => {
  assert.deepEqual(planCgroupWrites(undefined, 'v1'), { writes: [], warnings: [] });
  assert.deepEqual(planCgroupWrites({}, 'v1'), { writes: [], warnings: [] });
});

test('every v1 setting lands in its file, in runc subsystem order', () => {
  const r: Resources = {
    devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
    memory: { limit: 100, reservation: 50, swap: 200, swappiness: 10, disableOOMKiller: true },
    cpu: { shares: 512, quota: 20000, period: 100000, burst: 1000, realtimePeriod: 1000000, realtimeRuntime: 950000, idle: 1, cpus: '0-1', mems: '0' },
    pids: { limit: 64 },
    blockIO: {
      weight: 500,
      leafWeight: 300,
      weightDevice: [{ major: 8, minor: 0, weight: 600, leafWeight: 200 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }],
      throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 200 }],
    },
    hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
    network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }] },
    rdma: { mlx5_0: { hcaHandles: 2, hcaObjects: 2000 } },
  };
  assert.deepEqual(lines(planCgroupWrites(r, 'v1')), [
    'cpuset/cpuset.cpus=0-1',
    'cpuset/cpuset.mems=0',
    'devices/devices.deny=a',
    'devices/devices.allow=c 1:3 rwm',
    'memory/memory.limit_in_bytes=100',
    'memory/memory.memsw.limit_in_bytes=200',
    'memory/memory.soft_limit_in_bytes=50',
    'memory/memory.oom_control=1',
    'memory/memory.swappiness=10',
    'cpu/cpu.shares=512',
    'cpu/cpu.cfs_period_us=100000',
    'cpu/cpu.cfs_quota_us=20000',
    'cpu/cpu.cfs_period_us=100000',
    'cpu/cpu.cfs_burst_us=1000',
    'cpu/cpu.rt_period_us=1000000',
    'cpu/cpu.rt_runtime_us=950000',
    'cpu/cpu.idle=1',
    'pids/pids.max=64',
    'blkio/blkio.weight=500',
    'blkio/blkio.leaf_weight=300',
    'blkio/blkio.weight_device=8:0 600',
    'blkio/blkio.leaf_weight_device=8:0 200',
    'blkio/blkio.throttle.read_bps_device=8:0 1048576',
    'blkio/blkio.throttle.write_bps_device=8:0 2097152',
    'blkio/blkio.throttle.read_iops_device=8:0 100',
    'blkio/blkio.throttle.write_iops_device=8:0 200',
    'hugetlb/hugetlb.2MB.limit_in_bytes=4194304',
    'net_cls/net_cls.classid=1048577',
    'net_prio/net_prio.ifpriomap=eth0 5',
    'rdma/rdma.max=mlx5_0 hca_handle=2 hca_object=2000',
  ]);
});

test('each write names the config field it comes from', () => {
  const plan = planCgroupWrites({ memory: { limit: 100 }, devices: [{ allow: false, access: 'rwm' }] }, 'v1');
  assert.deepEqual(plan.writes.map((w) => w.field), ['linux.resources.devices', 'linux.resources.devices[0]', 'linux.resources.memory.limit']);
});

test('memory: a new cgroup gets the limit before memory+swap', () => {
  assert.deepEqual(lines(planCgroupWrites({ memory: { limit: 100, swap: 300 } }, 'v1')), [
    'memory/memory.limit_in_bytes=100',
    'memory/memory.memsw.limit_in_bytes=300',
  ]);
});

test('memory: raising above the current limit writes memory+swap first (the kernel keeps memsw >= memory)', () => {
  const plan = planCgroupWrites({ memory: { limit: 400, swap: 800 } }, 'v1', { currentMemoryLimit: 100n });
  assert.deepEqual(lines(plan), ['memory/memory.memsw.limit_in_bytes=800', 'memory/memory.limit_in_bytes=400']);
  const lowering = planCgroupWrites({ memory: { limit: 50, swap: 80 } }, 'v1', { currentMemoryLimit: 100n });
  assert.deepEqual(lines(lowering), ['memory/memory.limit_in_bytes=50', 'memory/memory.memsw.limit_in_bytes=80']);
  const unlimitedSwap = planCgroupWrites({ memory: { limit: 50, swap: -1 } }, 'v1', { currentMemoryLimit: 100n });
  assert.deepEqual(lines(unlimitedSwap), ['memory/memory.memsw.limit_in_bytes=-1', 'memory/memory.limit_in_bytes=50']);
});

test('memory: unlimited memory without a swap setting also lifts memory+swap, when swap accounting exists', () => {
  const plan = planCgroupWrites({ memory: { limit: -1 } }, 'v1');
  assert.deepEqual(lines(plan), ['memory/memory.memsw.limit_in_bytes=-1', 'memory/memory.limit_in_bytes=-1']);
  assert.equal(plan.writes[0]?.optional, true);
  assert.deepEqual(lines(planCgroupWrites({ memory: { limit: -1 } }, 'v1', { memswAvailable: false })), ['memory/memory.limit_in_bytes=-1']);
});

test('memory: bad values name their field', () => {
  assert.throws(() => planCgroupWrites({ memory: { limit: 100, swap: 50 } }, 'v1'), failsOn('linux.resources.memory.swap'));
  assert.throws(() => planCgroupWrites({ memory: { limit: -5 } }, 'v1'), failsOn('linux.resources.memory.limit'));
  assert.throws(() => planCgroupWrites({ memory: { limit: 1.5 } }, 'v1'), failsOn('linux.resources.memory.limit'));
  assert.throws(() => planCgroupWrites({ memory: { swappiness: 101 } }, 'v1'), failsOn('linux.resources.memory.swappiness'));
  assert.throws(
    () => planCgroupWrites({ memory: { limit: '1g' as unknown as number } }, 'v1'),
    failsOn('linux.resources.memory.limit'),
  );
});

test('memory: kernel memory is ignored with a warning, as runc does', () => {
  const plan = planCgroupWrites({ memory: { kernel: 100, kernelTCP: 100 } }, 'v1');
  assert.deepEqual(plan.writes, []);
  assert.equal(plan.warnings.length, 2);
  assert.match(plan.warnings[0] ?? '', /linux\.resources\.memory\.kernel/);
});

test('memory: huge limits are written as exact digits', () => {
  const plan = planCgroupWrites({ memory: { limit: 2 ** 60 } }, 'v1');
  assert.deepEqual(lines(plan), ['memory/memory.limit_in_bytes=1152921504606846976']);
});

test('cpu: a period with a quota may be refused at first and is written again after the quota', () => {
  const plan = planCgroupWrites({ cpu: { quota: 50000, period: 10000 } }, 'v1');
  assert.deepEqual(lines(plan), ['cpu/cpu.cfs_period_us=10000', 'cpu/cpu.cfs_quota_us=50000', 'cpu/cpu.cfs_period_us=10000']);
  assert.deepEqual(plan.writes.map((w) => w.tolerateEinval ?? false), [true, false, false]);
  assert.deepEqual(lines(planCgroupWrites({ cpu: { period: 10000 } }, 'v1')), ['cpu/cpu.cfs_period_us=10000']);
  assert.equal(planCgroupWrites({ cpu: { period: 10000 } }, 'v1').writes[0]?.tolerateEinval, undefined);
  assert.deepEqual(lines(planCgroupWrites({ cpu: { quota: -1 } }, 'v1')), ['cpu/cpu.cfs_quota_us=-1']);
});

test('cpu: shares are read back, because the kernel clamps them silently', () => {
  const [w] = planCgroupWrites({ cpu: { shares: 1 } }, 'v1').writes;
  assert.equal(w?.verify, true);
  assert.deepEqual(planCgroupWrites({ cpu: { shares: 0 } }, 'v1').writes, []);
});

test('cpu: malformed cpusets and values name their field', () => {
  assert.throws(() => planCgroupWrites({ cpu: { cpus: '0-' } }, 'v1'), failsOn('linux.resources.cpu.cpus'));
  assert.throws(() => planCgroupWrites({ cpu: { mems: '3-1' } }, 'v1'), failsOn('linux.resources.cpu.mems'));
  assert.throws(() => planCgroupWrites({ cpu: { quota: -2 } }, 'v1'), failsOn('linux.resources.cpu.quota'));
  assert.throws(() => planCgroupWrites({ cpu: { shares: -1 } }, 'v1'), failsOn('linux.resources.cpu.shares'));
});

test('pids: positive is the limit, negative is max, zero is unset (runc 1.1)', () => {
  assert.deepEqual(lines(planCgroupWrites({ pids: { limit: -1 } }, 'v1')), ['pids/pids.max=max']);
  assert.deepEqual(lines(planCgroupWrites({ pids: { limit: 0 } }, 'v1')), []);
});

test('blkio: the BFQ weight files are used when the host has them instead of CFQ ones', () => {
  const plan = planCgroupWrites({ blockIO: { weight: 100, weightDevice: [{ major: 8, minor: 16, weight: 200 }] } }, 'v1', {
    blkioWeightFile: 'blkio.bfq.weight',
  });
  assert.deepEqual(lines(plan), ['blkio/blkio.bfq.weight=100', 'blkio/blkio.bfq.weight_device=8:16 200']);
  assert.throws(() => planCgroupWrites({ blockIO: { weight: 5 } }, 'v1'), failsOn('linux.resources.blockIO.weight'));
  assert.throws(
    () => planCgroupWrites({ blockIO: { throttleReadBpsDevice: [{ major: -1, minor: 0, rate: 1 }] } }, 'v1'),
    failsOn('linux.resources.blockIO.throttleReadBpsDevice[0].major'),
  );
});

test('devices: deny everything first, then the rules in order', () => {
  const plan = planCgroupWrites(
    {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' },
        { allow: true, type: 'b', major: 8, access: 'r' },
        { allow: false, type: 'c', major: 5, minor: 1, access: 'w' },
      ],
    },
    'v1',
  );
  assert.deepEqual(lines(plan), [
    'devices/devices.deny=a',
    'devices/devices.deny=a',
    'devices/devices.allow=c 136:* rwm',
    'devices/devices.allow=b 8:* r',
    'devices/devices.deny=c 5:1 w',
  ]);
});

test('devices: malformed rules name the rule and its field', () => {
  assert.throws(() => planCgroupWrites({ devices: [{ allow: true, access: 'rwm' }, { allow: true, type: 'c', access: '' }] }, 'v1'), failsOn('linux.resources.devices[1].access'));
  assert.throws(() => planCgroupWrites({ devices: [{ allow: true, type: 'x', access: 'r' }] }, 'v1'), failsOn('linux.resources.devices[0].type'));
  assert.throws(() => planCgroupWrites({ devices: [{ allow: true, type: 'c', major: 1.5, access: 'r' }] }, 'v1'), failsOn('linux.resources.devices[0].major'));
  assert.throws(() => planCgroupWrites({ devices: [{ allow: true, type: 'c', access: 'rr' }] }, 'v1'), failsOn('linux.resources.devices[0].access'));
});

test('unified key-values are refused on v1', () => {
  assert.throws(() => planCgroupWrites({ unified: { 'memory.high': '100' } }, 'v1'), failsOn('linux.resources.unified'));
  assert.deepEqual(planCgroupWrites({ unified: {} }, 'v1').writes, []);
});

test('hugetlb and network values are checked', () => {
  assert.throws(() => planCgroupWrites({ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, 'v1'), failsOn('linux.resources.hugepageLimits[0].pageSize'));
  assert.throws(() => planCgroupWrites({ network: { priorities: [{ name: 'a b', priority: 1 }] } }, 'v1'), failsOn('linux.resources.network.priorities[0].name'));
  assert.throws(() => planCgroupWrites({ rdma: { mlx: {} } }, 'v1'), failsOn('linux.resources.rdma.mlx'));
});
