// CRI stats mapping: cgroup samples -> ContainerStats / PodSandboxStats, the CPU rate cache,
// /proc/<pid>/net/dev, and the ListContainerStats / ListPodSandboxStats filters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/oci/errors.ts';
import type { CgroupSample } from '../../../src/runtime/cgroups/index.ts';
import {
  containerStats, filterContainersForStats, filterPodsForStats, matchLabelSelector, parseNetDev, podSandboxStats,
  resolveIdPrefix, SampleCache, usageNanoCores, type ContainerAttributes, type ContainerCandidate, type StatsCandidate,
} from '../../../src/cri/stats/index.ts';

const S = 1_000_000_000n;
const sample = (over: Partial<CgroupSample> = {}): CgroupSample => ({
  timestampNs: 1_700_000_000n * S,
  cpu: { usageNs: 5n * S },
  memory: { usageBytes: 100_000n, workingSetBytes: 60_000n, rssBytes: 50_000n, limitBytes: 1_000_000n, pageFaults: 9n, majorPageFaults: 1n },
  pids: { current: 3n },
  io: {},
  ...over,
});
const attributes: ContainerAttributes = { id: 'c1', metadata: { name: 'web', attempt: 1 }, labels: { app: 'web' }, annotations: { note: 'x' } };

test('a running container: cpu, memory (available = limit - working set), writable layer, swap', () => {
  const s = sample({ memory: { ...sample().memory, swapBytes: 4096n, swapLimitBytes: 10_000n } });
  const stats = containerStats({
    attributes, sample: s,
    previous: { usageNs: 4n * S, timestampNs: s.timestampNs - 2n * S },
    writableLayer: { bytes: 8192, inodes: 3, timestampNs: 42n, mountpoint: '/var/lib/berth/snapshots' },
  });
  assert.deepEqual(stats, {
    attributes,
    cpu: { timestamp: String(s.timestampNs), usage_core_nano_seconds: { value: '5000000000' }, usage_nano_cores: { value: '500000000' } },
    memory: {
      timestamp: String(s.timestampNs),
      working_set_bytes: { value: '60000' }, available_bytes: { value: '940000' }, usage_bytes: { value: '100000' },
      rss_bytes: { value: '50000' }, page_faults: { value: '9' }, major_page_faults: { value: '1' },
    },
    writable_layer: { timestamp: '42', fs_id: { mountpoint: '/var/lib/berth/snapshots' }, used_bytes: { value: '8192' }, inodes_used: { value: '3' } },
    swap: { timestamp: String(s.timestampNs), swap_usage_bytes: { value: '4096' }, swap_available_bytes: { value: '5904' } },
  });
});

test('first sample: no usage_nano_cores; no limit: available 0; absent memory stats stay absent', () => {
  const stats = containerStats({ attributes, sample: sample({ memory: { usageBytes: 10n, workingSetBytes: 4n } }) });
  assert.equal(stats.cpu?.usage_nano_cores, undefined);
  assert.deepEqual(stats.memory, { timestamp: String(sample().timestampNs), working_set_bytes: { value: '4' }, available_bytes: { value: '0' }, usage_bytes: { value: '10' } });
  assert.equal(stats.swap, undefined);
});

test('a container that is not running has its attributes (and writable layer) only', () => {
  assert.deepEqual(containerStats({ attributes }), { attributes });
});

test('usage_nano_cores: none over no time or when the counter went backwards', () => {
  assert.equal(usageNanoCores({ usageNs: 0n, timestampNs: 0n }, { usageNs: 2n * S, timestampNs: S }), 2n * S, 'two cores busy');
  assert.equal(usageNanoCores({ usageNs: 0n, timestampNs: S }, { usageNs: S, timestampNs: S }), undefined);
  assert.equal(usageNanoCores({ usageNs: 5n, timestampNs: 0n }, { usageNs: 4n, timestampNs: S }), undefined);
  assert.equal(usageNanoCores(undefined, { usageNs: 4n, timestampNs: S }), undefined);
});

test('SampleCache: the previous point per id, never older-than-kept, dropped on remove', () => {
  const cache = new SampleCache();
  const at = (t: bigint, usage: bigint): CgroupSample => sample({ timestampNs: t, cpu: { usageNs: usage } });
  assert.equal(cache.previous('a', at(10n, 100n)), undefined);
  assert.deepEqual(cache.previous('a', at(20n, 150n)), { usageNs: 100n, timestampNs: 10n });
  assert.equal(cache.previous('a', at(15n, 120n)), undefined, 'a sample older than the kept one has no rate');
  assert.deepEqual(cache.previous('a', at(30n, 200n)), { usageNs: 150n, timestampNs: 20n }, 'the newest point stayed');
  assert.equal(cache.previous('b', at(5n, 1n)), undefined);
  cache.drop('a');
  assert.equal(cache.previous('a', at(40n, 250n)), undefined);
  cache.retain(['a']);
  assert.equal(cache.size, 1);
});

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1200      12    0    0    0     0          0         0     1200      12    0    0    0     0       0          0
  eth0: 18446744073709551615 30 1 2 0 0 0 0 4096 20 3 4 0 0 0 0
   net1:     10       1    0    0    0     0          0         0       20       2    0    0    0     0       0          0
`;

test('/proc/<pid>/net/dev: each interface, 64-bit counters', () => {
  const ifaces = parseNetDev(NET_DEV);
  assert.deepEqual(ifaces.map((i) => i.name), ['lo', 'eth0', 'net1']);
  assert.deepEqual(ifaces[1], {
    name: 'eth0', rxBytes: 18446744073709551615n, rxPackets: 30n, rxErrors: 1n, rxDropped: 2n,
    txBytes: 4096n, txPackets: 20n, txErrors: 3n, txDropped: 4n,
  });
  assert.throws(() => parseNetDev('h1\nh2\neth0: 1 2 3\n', '/proc/7/net/dev'), (err: unknown) => err instanceof BerthError && err.message.includes('/proc/7/net/dev'));
});

test('pod stats: pod cgroup cpu/memory, network without lo (eth0 the default), process count summed over containers', () => {
  const pod = { id: 'p1', metadata: { name: 'pod', uid: 'u', namespace: 'ns', attempt: 0 }, labels: {}, annotations: {} };
  const c1 = containerStats({ attributes, sample: sample() });
  const c2 = containerStats({ attributes: { ...attributes, id: 'c2' } });
  const stats = podSandboxStats({
    attributes: pod, sample: sample(), interfaces: parseNetDev(NET_DEV), timestampNs: 77n,
    containers: [{ stats: c1, pids: 3n }, { stats: c2 }, { stats: c1, pids: 2n }],
  });
  assert.equal(stats.linux.cpu?.usage_core_nano_seconds?.value, '5000000000');
  assert.equal(stats.linux.memory?.working_set_bytes?.value, '60000');
  assert.equal(stats.linux.network?.default_interface?.name, 'eth0');
  assert.deepEqual(stats.linux.network?.default_interface?.rx_errors, { value: '1' });
  assert.deepEqual(stats.linux.network?.interfaces.map((i) => i.name), ['net1']);
  assert.deepEqual(stats.linux.process, { timestamp: '77', process_count: { value: '5' } });
  assert.equal(stats.linux.containers.length, 3);

  const hostNet = podSandboxStats({ attributes: pod, timestampNs: 1n, containers: [], interfaces: [] });
  assert.deepEqual(hostNet.linux.network, { timestamp: '1', interfaces: [] });
  assert.equal(podSandboxStats({ attributes: pod, timestampNs: 1n, containers: [] }).linux.network, undefined);
});

const containers: ContainerCandidate[] = [
  { id: 'abc111', podSandboxId: 'pod-a', labels: { app: 'web', tier: 'front' } },
  { id: 'abc222', podSandboxId: 'pod-a', labels: { app: 'db' } },
  { id: 'def333', podSandboxId: 'pod-b', labels: { app: 'web' } },
];

test('container stats filter: id (or a unique prefix), pod id, labels, ANDed; no filter is everything', () => {
  const ids = (f: Parameters<typeof filterContainersForStats>[1]): string[] => filterContainersForStats(containers, f).map((c) => c.id);
  assert.deepEqual(ids(null), ['abc111', 'abc222', 'def333']);
  assert.deepEqual(ids({}), ['abc111', 'abc222', 'def333']);
  assert.deepEqual(ids({ id: 'def' }), ['def333']);
  assert.deepEqual(ids({ id: 'abc' }), [], 'an ambiguous prefix matches nothing');
  assert.deepEqual(ids({ id: 'nope' }), []);
  assert.deepEqual(ids({ pod_sandbox_id: 'pod-a' }), ['abc111', 'abc222']);
  assert.deepEqual(ids({ pod_sandbox_id: 'pod-' }), [], 'an ambiguous pod prefix matches nothing');
  assert.deepEqual(ids({ label_selector: { app: 'web' } }), ['abc111', 'def333']);
  assert.deepEqual(ids({ label_selector: { app: 'web' }, pod_sandbox_id: 'pod-b' }), ['def333']);
  assert.deepEqual(ids({ label_selector: { app: 'web', tier: 'front' } }), ['abc111']);
  assert.deepEqual(ids({ id: 'abc222', label_selector: { app: 'web' } }), []);
});

test('pod stats filter, label selector and prefix resolution', () => {
  const pods: StatsCandidate[] = [{ id: 'pod-a', labels: { team: 'x' } }, { id: 'pod-b', labels: {} }];
  assert.deepEqual(filterPodsForStats(pods, { id: 'pod-b' }).map((p) => p.id), ['pod-b']);
  assert.deepEqual(filterPodsForStats(pods, { label_selector: { team: 'x' } }).map((p) => p.id), ['pod-a']);
  assert.deepEqual(filterPodsForStats(pods, undefined).length, 2);
  assert.equal(matchLabelSelector({ k: '' }, {}), false, 'an empty value still needs the key');
  assert.equal(matchLabelSelector({ k: '' }, { k: '' }), true);
  assert.equal(matchLabelSelector({ toString: 'x' }, {}), false, 'no prototype keys');
  assert.equal(resolveIdPrefix('ab', ['ab', 'abc']), 'ab', 'an exact id wins over a longer one');
});

test('the messages survive the CRI wire encoding field for field (names match api.proto)', async () => {
  const { loadCri } = await import('../../../src/cri/proto-load.ts');
  const rpc = loadCri().runtimeService.ListPodSandboxStats!;
  const pod = { id: 'p1', metadata: { name: 'pod', uid: 'u', namespace: 'ns', attempt: 2 }, labels: { a: 'b' }, annotations: { c: 'd' } };
  const c1 = containerStats({
    attributes, sample: sample({ memory: { ...sample().memory, swapBytes: 1n } }), previous: { usageNs: 0n, timestampNs: 0n },
    writableLayer: { bytes: 1, inodes: 2, timestampNs: 3n, mountpoint: '/m' },
  });
  const response = { stats: [podSandboxStats({ attributes: pod, sample: sample(), interfaces: parseNetDev(NET_DEV), timestampNs: 9n, containers: [{ stats: c1, pids: 1n }] })] };
  const decoded = rpc.responseDeserialize(rpc.responseSerialize(response)) as typeof response;
  const got = decoded.stats[0]!;
  assert.deepEqual(got.attributes, pod);
  assert.deepEqual(got.linux.process, response.stats[0]!.linux.process);
  assert.deepEqual(got.linux.network?.default_interface, response.stats[0]!.linux.network?.default_interface);
  const gotC = got.linux.containers[0]!;
  assert.deepEqual(gotC.attributes, attributes);
  for (const key of ['cpu', 'memory', 'writable_layer', 'swap'] as const) {
    for (const [field, value] of Object.entries(c1[key]!)) assert.deepEqual((gotC[key] as unknown as Record<string, unknown>)[field], value, `${key}.${field}`);
  }
});
