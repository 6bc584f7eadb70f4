import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/oci/errors.ts';
import {
  hugePageSizesFromNames, MAX_UINT64, parseBlkioStat, parseCpuacctStat, parseCpuacctUsageAll, parseCpuList,
  parseFlatKeyed, parseIoStat, parseUint, parseUintList,
} from '../../../src/runtime/cgroups/stats-parse.ts';

test('single values: digits, "max", negatives as 0, garbage refused with the file name', () => {
  assert.equal(parseUint('9223372036854771712\n', 'f'), 9223372036854771712n);
  assert.equal(parseUint('max\n', 'f'), MAX_UINT64);
  assert.equal(parseUint('-1', 'f'), 0n);
  assert.throws(() => parseUint('12abc', 'memory.current'), (err: unknown) => err instanceof BerthError && err.message.includes('memory.current'));
});

test('flat keyed files (memory.oom_control, cgroup.events, cpu.stat)', () => {
  assert.deepEqual(parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n', 'f'), { oom_kill_disable: 0n, under_oom: 0n, oom_kill: 3n });
  assert.deepEqual(parseFlatKeyed('populated 1\nfrozen 0\n', 'f'), { populated: 1n, frozen: 0n });
  assert.throws(() => parseFlatKeyed('a 1 2\n', 'f'));
});

test('cpu lists expand ranges', () => {
  assert.deepEqual(parseCpuList('0-2,5,7-8\n', 'f'), [0, 1, 2, 5, 7, 8]);
  assert.deepEqual(parseCpuList('\n', 'f'), []);
  assert.throws(() => parseCpuList('3-1', 'f'));
});

test('blkio statistics with and without an operation column, Total line skipped', () => {
  const text = '8:0 Read 1282048\n8:0 Write 2195456\n8:0 Total 3477504\nTotal 3477504\n';
  assert.deepEqual(parseBlkioStat(text, 'f'), [
    { major: 8n, minor: 0n, op: 'Read', value: 1282048n },
    { major: 8n, minor: 0n, op: 'Write', value: 2195456n },
    { major: 8n, minor: 0n, op: 'Total', value: 3477504n },
  ]);
  assert.deepEqual(parseBlkioStat('8:0 6792\n', 'f'), [{ major: 8n, minor: 0n, op: '', value: 6792n }]);
  assert.deepEqual(parseBlkioStat('Total 0\n', 'f'), []);
});

test('cpuacct files: ticks become nanoseconds, usage_all splits user and system per cpu', () => {
  assert.deepEqual(parseCpuacctStat('user 3\nsystem 1\n', 'f'), { user: 30000000n, kernel: 10000000n });
  assert.deepEqual(parseCpuacctUsageAll('cpu user system\n0 100 7968563\n1 200 0\n', 'f'), { user: [100n, 200n], kernel: [7968563n, 0n] });
  assert.deepEqual(parseUintList('11079016 3545015 \n', 'f'), [11079016n, 3545015n]);
});

test('io.stat maps onto v1 service bytes and serviced tables', () => {
  const io = parseIoStat('8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n', 'f');
  assert.deepEqual(io.serviceBytes, [
    { major: 8n, minor: 16n, op: 'Read', value: 1459200n },
    { major: 8n, minor: 16n, op: 'Write', value: 314773504n },
  ]);
  assert.deepEqual(io.serviced.map((e) => `${e.op}=${e.value}`), ['Read=192', 'Write=353']);
});

test('huge page directory names become hugetlb file names', () => {
  assert.deepEqual(hugePageSizesFromNames(['hugepages-1048576kB', 'hugepages-2048kB', 'hugepages-64kB', 'other']), ['1GB', '2MB', '64KB']);
});
