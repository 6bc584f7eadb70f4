import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { emptyStats } from '../../../src/runtime/cgroups/cgroup-stats.ts';
import { encodeEvent, encodeJson, oomEvent, statsEvent } from '../../../src/runtime/cgroups/runc-events.ts';

// `runc events --stats` of runc 1.1.5 on this host, for a busybox `sleep` with memory, pids and cpu limits.
const fixture = readFileSync(new URL('./fixtures/runc-1.1.5-events-stats.json', import.meta.url), 'utf8');

test('a stats event encodes byte for byte as runc 1.1.5 prints it', () => {
  const s = emptyStats();
  s.cpu.usage = {
    total: 14624031n, percpu: [11079016n, 3545015n], percpuKernel: [7968563n, 0n], percpuUser: [0n, 0n], kernel: 10000000n, user: 0n,
  };
  s.cpu.throttling.periods = 1n;
  Object.assign(s.cpuset, { cpus: [0, 1], mems: [0], schedLoadBalance: 1n, schedRelaxDomainLevel: -1n });
  s.memory.cache = 12288n;
  s.memory.usage = { limit: 99999744n, usage: 987136n, max: 2514944n, failcnt: 0n };
  s.memory.swap = { limit: 199999488n, usage: 987136n, max: 2514944n, failcnt: 0n };
  s.memory.kernel = { limit: 9223372036854771712n, usage: 438272n, max: 606208n, failcnt: 0n };
  s.memory.kernelTCP = { limit: 9223372036854771712n, usage: 0n, max: 0n, failcnt: 0n };
  const raw = (JSON.parse(fixture) as { data: { memory: { raw: Record<string, number> } } }).data.memory.raw;
  // Insert in reverse to prove the encoder sorts map keys like Go.
  for (const key of Object.keys(raw).reverse()) s.memory.raw[key] = BigInt(raw[key] as number);
  s.pids = { current: 1n, limit: 50n };
  assert.equal(encodeEvent(statsEvent('berthprobe2', s)), fixture);
});

test('an oom event has no data member', () => {
  assert.equal(encodeEvent(oomEvent('c1')), '{"type":"oom","id":"c1"}\n');
});

test('zero counters and empty lists are left out, structs and non-omitempty fields stay', () => {
  const text = encodeEvent(statsEvent('c1', emptyStats()));
  const data = (JSON.parse(text) as { data: Record<string, unknown> }).data;
  assert.deepEqual(data.cpu, { usage: { kernel: 0, user: 0 }, throttling: {} });
  assert.deepEqual(data.pids, {});
  assert.deepEqual(data.blkio, {});
  assert.deepEqual(data.memory, { usage: { limit: 0, failcnt: 0 }, swap: { limit: 0, failcnt: 0 }, kernel: { limit: 0, failcnt: 0 }, kernelTCP: { limit: 0, failcnt: 0 } });
  assert.equal(data.network_interfaces, null);
});

test('blkio entries and hugetlb sizes follow runc field names', () => {
  const s = emptyStats();
  s.blkio.ioServiceBytesRecursive = [{ major: 8n, minor: 0n, op: 'Read', value: 4096n }];
  s.blkio.ioQueuedRecursive = [{ major: 8n, minor: 0n, op: 'Total', value: 0n }];
  s.hugetlb = { '2MB': { usage: 0n, max: 0n, failcnt: 3n } };
  const data = (JSON.parse(encodeEvent(statsEvent('c1', s))) as { data: Record<string, unknown> }).data;
  assert.deepEqual(data.blkio, { ioServiceBytesRecursive: [{ major: 8, op: 'Read', value: 4096 }], ioQueueRecursive: [{ major: 8, op: 'Total' }] });
  assert.deepEqual(data.hugetlb, { '2MB': { failcnt: 3 } });
});

test('the JSON encoder keeps 64-bit integers exact and escapes like Go', () => {
  assert.equal(encodeJson({ a: 18446744073709551615n, b: [1, 'x<y&z'], c: undefined, d: null }), '{"a":18446744073709551615,"b":[1,"x\\u003cy\\u0026z"],"d":null}');
});
