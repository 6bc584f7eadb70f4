// CgroupSample from cgroupfs text (v1 and v2), and the reader over a fake cgroupfs tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../../src/oci/errors.ts';
import { sampleFromV1, sampleFromV2 } from '../../../src/runtime/cgroups/sample.ts';
import { readCgroupSample, sampleDirsFor, sampleDirsFromRecord } from '../../../src/runtime/cgroups/sample-reader.ts';
import { cgroupHostFromProc } from '../../../src/runtime/cgroups/cgroup-host.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/cgroups/${name}`, import.meta.url), 'utf8');
const T = 1_700_000_000_123_456_789n;

test('v1: cpuacct, cpu.stat, memory with total_* keys, oom_control, memsw, pids, blkio', () => {
  const s = sampleFromV1({
    timestampNs: T,
    texts: {
      cpuacct: { 'cpuacct.usage': '123456789012\n', 'cpuacct.stat': 'user 250\nsystem 50\n' },
      cpu: { 'cpu.stat': 'nr_periods 10\nnr_throttled 3\nthrottled_time 4500000\nnr_bursts 0\nburst_time 0\n' },
      memory: {
        'memory.usage_in_bytes': '1500000000\n',
        'memory.limit_in_bytes': '2147483648\n',
        'memory.failcnt': '4\n',
        'memory.stat': fixture('v1-memory.stat'),
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
        'memory.memsw.usage_in_bytes': '1600000000\n',
        'memory.memsw.limit_in_bytes': '9223372036854771712\n',
      },
      pids: { 'pids.current': '7\n', 'pids.max': '100\n' },
      blkio: {
        'blkio.bfq.io_service_bytes_recursive': 'Total 0\n',
        'blkio.bfq.io_serviced_recursive': 'Total 0\n',
        'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\n8:16 Read 1000\n8:16 Write 0\nTotal 13288\n',
        'blkio.throttle.io_serviced_recursive': '8:0 Read 1\n8:0 Write 2\n8:0 Total 3\n8:16 Read 5\nTotal 8\n',
      },
    },
  });
  assert.deepEqual(s, {
    timestampNs: T,
    cpu: { usageNs: 123456789012n, userNs: 2_500_000_000n, systemNs: 500_000_000n, periods: 10n, throttledPeriods: 3n, throttledNs: 4_500_000n },
    memory: {
      usageBytes: 1_500_000_000n,
      workingSetBytes: 1_500_000_000n - 305127424n,
      rssBytes: 595447808n,
      cacheBytes: 836894720n,
      pageFaults: 9254071n,
      majorPageFaults: 1234n,
      limitBytes: 2147483648n,
      failcnt: 4n,
      oomKills: 2n,
      swapBytes: 100_000_000n,
    },
    pids: { current: 7n, limit: 100n },
    io: { readBytes: 5096n, writeBytes: 8192n, readOps: 6n, writeOps: 2n },
  });
});

test('v1: no limit, no swap accounting, hierarchy-less memory.stat, idle blkio, absent controllers', () => {
  const s = sampleFromV1({
    timestampNs: T,
    texts: {
      memory: {
        'memory.usage_in_bytes': '4096\n',
        'memory.limit_in_bytes': '9223372036854771712\n',
        'memory.stat': 'cache 0\nrss 4096\ninactive_file 8192\npgfault 3\npgmajfault 0\n',
      },
      pids: { 'pids.current': '1\n', 'pids.max': 'max\n' },
      blkio: { 'blkio.throttle.io_service_bytes_recursive': 'Total 0\n', 'blkio.throttle.io_serviced_recursive': 'Total 0\n' },
    },
  });
  assert.deepEqual(s.memory, { usageBytes: 4096n, workingSetBytes: 0n, rssBytes: 4096n, cacheBytes: 0n, pageFaults: 3n, majorPageFaults: 0n });
  assert.deepEqual(s.pids, { current: 1n });
  assert.deepEqual(s.cpu, {});
  assert.deepEqual(s.io, { readBytes: 0n, writeBytes: 0n, readOps: 0n, writeOps: 0n });
});

test('v2: cpu.stat in microseconds, memory.current/max/stat/events, swap, pids, io.stat', () => {
  const s = sampleFromV2({
    timestampNs: T,
    dir: '/sys/fs/cgroup/c1',
    texts: {
      'cpu.stat': 'usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20000\nnr_bursts 0\nburst_usec 0\n',
      'memory.current': '64000000\n',
      'memory.max': '134217728\n',
      'memory.stat': fixture('v2-memory.stat'),
      'memory.events': 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n',
      'memory.swap.current': '4096\n',
      'memory.swap.max': 'max\n',
      'pids.current': '3\n',
      'pids.max': 'max\n',
      'io.stat': '8:0 rbytes=1048576 wbytes=4096 rios=16 wios=1 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n',
    },
  });
  assert.deepEqual(s, {
    timestampNs: T,
    cpu: { usageNs: 2_000_000_000n, userNs: 1_500_000_000n, systemNs: 500_000_000n, periods: 4n, throttledPeriods: 1n, throttledNs: 20_000_000n },
    memory: {
      usageBytes: 64_000_000n,
      limitBytes: 134217728n,
      rssBytes: 52162560n,
      cacheBytes: 10719232n,
      pageFaults: 14021n,
      majorPageFaults: 7n,
      workingSetBytes: 64_000_000n - 6397952n,
      failcnt: 12n,
      oomKills: 1n,
      swapBytes: 4096n,
    },
    pids: { current: 3n },
    io: { readBytes: 1048577n, writeBytes: 4098n, readOps: 19n, writeOps: 5n },
  });
});

test('v2: a cgroup without the memory, pids and io controllers enabled has only cpu', () => {
  const s = sampleFromV2({ timestampNs: T, texts: { 'cpu.stat': 'usage_usec 5\nuser_usec 3\nsystem_usec 2\n' } });
  assert.deepEqual(s, { timestampNs: T, cpu: { usageNs: 5000n, userNs: 3000n, systemNs: 2000n }, memory: {}, pids: {}, io: {} });
});

test('unparsable text is an error naming the file', () => {
  assert.throws(
    () => sampleFromV2({ timestampNs: T, dir: '/cg', texts: { 'memory.current': 'lots\n' } }),
    (err: unknown) => err instanceof BerthError && err.message.includes('/cg/memory.current'),
  );
});

const HYBRID_MOUNTINFO = (root: string): string =>
  [
    `32 31 0:29 / ${root}/cpu rw - cgroup cgroup rw,cpu`,
    `33 31 0:30 / ${root}/cpuacct rw - cgroup cgroup rw,cpuacct`,
    `35 31 0:32 / ${root}/memory rw - cgroup cgroup rw,memory`,
    `39 31 0:36 / ${root}/pids rw - cgroup cgroup rw,pids`,
    `41 31 0:38 / ${root}/unified rw - cgroup2 cgroup2 rw`,
    '',
  ].join('\n');

test('reader (v1): the cgroupsPath resolves as the runtime does; missing controllers are absent; a removed cgroup is NotFound', async () => {
  const base = await mkdtemp(join(tmpdir(), 'berth-sample-'));
  try {
    const root = join(base, 'cgroup');
    const host = cgroupHostFromProc(HYBRID_MOUNTINFO(root), '1:cpu:/\n2:cpuacct:/\n4:memory:/agent\n8:pids:/\n0::/\n', root);
    const dirs = sampleDirsFor(host, 'pods/c1', 'c1');
    assert.equal(dirs.mode, 'v1');
    if (dirs.mode !== 'v1') return;
    assert.equal(dirs.paths.memory, join(root, 'memory/agent/pods/c1'), 'relative to our own memory cgroup');
    assert.equal(dirs.paths.cpuacct, join(root, 'cpuacct/pods/c1'));
    await assert.rejects(readCgroupSample(dirs), (err: unknown) => err instanceof BerthError && err.kind === 'not-found');

    await mkdir(dirs.paths.memory!, { recursive: true });
    await writeFile(join(dirs.paths.memory!, 'memory.usage_in_bytes'), '8192\n');
    await mkdir(dirs.paths.cpuacct!, { recursive: true });
    await writeFile(join(dirs.paths.cpuacct!, 'cpuacct.usage'), '42\n');
    const s = await readCgroupSample(dirs, () => 7n);
    assert.deepEqual(s, { timestampNs: 7n, cpu: { usageNs: 42n }, memory: { usageBytes: 8192n }, pids: {}, io: {} });
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('reader (v2): from the runtime state record; NotFound once the directory is gone', async () => {
  const base = await mkdtemp(join(tmpdir(), 'berth-sample-'));
  try {
    const dir = join(base, 'c2');
    await mkdir(dir);
    await writeFile(join(dir, 'pids.current'), '2\n');
    await writeFile(join(dir, 'pids.max'), '64\n');
    const dirs = sampleDirsFromRecord({ version: 1, mode: 'v2', path: dir, mountpoint: base, createdParents: [] });
    assert.deepEqual((await readCgroupSample(dirs, () => 1n)).pids, { current: 2n, limit: 64n });
    await rm(dir, { recursive: true });
    await assert.rejects(readCgroupSample(dirs), (err: unknown) => err instanceof BerthError && err.kind === 'not-found' && err.message.includes(dir));
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('the cgroups a process is in, from /proc/<pid>/cgroup (v1 per hierarchy, v2 unified)', async () => {
  const { sampleDirsOfProcess } = await import('../../../src/runtime/cgroups/sample-reader.ts');
  const root = '/sys/fs/cgroup';
  const v1 = cgroupHostFromProc(HYBRID_MOUNTINFO(root), '1:cpu:/\n', root);
  const text = '9:name=systemd:/\n8:pids:/c1\n4:memory:/process_api/x/c1\n2:cpuacct:/c1\n1:cpu:/c1\n0::/\n';
  assert.deepEqual(sampleDirsOfProcess(v1, text), {
    mode: 'v1',
    paths: { cpu: `${root}/cpu/c1`, cpuacct: `${root}/cpuacct/c1`, memory: `${root}/memory/process_api/x/c1`, pids: `${root}/pids/c1`, unified: `${root}/unified` },
  });
  const v2 = cgroupHostFromProc(`30 1 0:26 / ${root} rw - cgroup2 cgroup2 rw\n`, '0::/\n', root);
  assert.deepEqual(sampleDirsOfProcess(v2, '0::/kubepods/pod1/c2\n'), { mode: 'v2', path: `${root}/kubepods/pod1/c2` });
  // A cgroup namespace's mount shows only its part of the tree.
  const ns = cgroupHostFromProc(`30 1 0:26 /berth ${root} rw - cgroup2 cgroup2 rw\n`, '0::/berth\n', root);
  assert.deepEqual(sampleDirsOfProcess(ns, '0::/berth/c3\n'), { mode: 'v2', path: `${root}/c3` });
  assert.throws(() => sampleDirsOfProcess(ns, '0::/elsewhere\n'), (err: unknown) => err instanceof BerthError && err.kind === 'not-found');
});
