// `berth stats` and `berth top` output, from samples and /proc text (no container needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/oci/errors.ts';
import type { CgroupSample } from '../../../src/runtime/cgroups/index.ts';
import {
  binarySize, cpuPercent, decimalSize, statsCells, statsLine, statsRow, statsWidths, STATS_HEADER,
} from '../../../src/cli/berth/stats-format.ts';
import {
  cpuTime, parseCmdline, parsePasswd, parseProcStat, parseProcStatus, psCells, psColumns, topTable, ttyName, type ProcInfo, type PsContext,
} from '../../../src/cli/berth/top-format.ts';

const S = 1_000_000_000n;
const GiB = 1024n ** 3n;
const sample = (t: bigint, cpu: bigint, over: Partial<CgroupSample> = {}): CgroupSample => ({
  timestampNs: t, cpu: { usageNs: cpu }, memory: { usageBytes: 300n * 1024n * 1024n, workingSetBytes: 200n * 1024n * 1024n }, pids: { current: 4n },
  io: { readBytes: 1_234_567n, writeBytes: 0n }, ...over,
});

test('CPU % is CPU time over wall time, per core, as docker shows it', () => {
  assert.equal(cpuPercent(sample(0n, 0n), sample(S, S / 2n)), 50);
  assert.equal(cpuPercent(sample(0n, 0n), sample(S, 2n * S)), 200, 'two busy cores');
  assert.equal(cpuPercent(undefined, sample(S, S)), undefined);
  assert.equal(cpuPercent(sample(S, 5n), sample(S, 6n)), undefined, 'no time passed');
});

test('sizes: decimal for I/O, binary for memory, 3 and 4 significant digits', () => {
  assert.equal(decimalSize(0n), '0B');
  assert.equal(decimalSize(999n), '999B');
  assert.equal(decimalSize(1_234_567n), '1.23MB');
  assert.equal(decimalSize(12_000n), '12kB');
  assert.equal(binarySize(200n * 1024n * 1024n), '200MiB');
  assert.equal(binarySize(1536n * 1024n), '1.5MiB');
  assert.equal(binarySize(25_280_000_000n), '23.54GiB');
  assert.equal(binarySize(1000n * 1024n), '1000KiB');
});

test('a row: working set against the limit (or the host), network, block I/O, pids; -- when not running', () => {
  const limited = statsCells(statsRow({
    id: 'a'.repeat(64), name: 'web', previous: sample(0n, 0n), current: sample(S, S / 4n, { memory: { usageBytes: 1n, workingSetBytes: 256n * 1024n * 1024n, limitBytes: GiB } }),
    net: { rx: 1500n, tx: 20n }, hostMemory: 16n * GiB,
  }));
  assert.deepEqual(limited, {
    ID: 'aaaaaaaaaaaa', Name: 'web', CPUPerc: '25.00%', MemUsage: '256MiB / 1GiB', MemPerc: '25.00%', NetIO: '1.5kB / 20B', BlockIO: '1.23MB / 0B', PIDs: '4',
  });
  const unlimited = statsCells(statsRow({ id: 'b', name: 'b', current: sample(S, 0n), hostMemory: 16n * GiB }));
  assert.equal(unlimited.MemUsage, '200MiB / 16GiB');
  assert.equal(unlimited.CPUPerc, '0.00%', 'the first sample has no rate yet');
  assert.equal(unlimited.NetIO, '0B / 0B', 'on the host network: nothing of its own');
  assert.deepEqual(statsCells(statsRow({ id: 'c', name: 'c', hostMemory: 1n })), {
    ID: 'c', Name: 'c', CPUPerc: '--', MemUsage: '-- / --', MemPerc: '--', NetIO: '-- / --', BlockIO: '-- / --', PIDs: '--',
  });
  const widths = statsWidths([limited]);
  assert.equal(statsLine(STATS_HEADER, widths), 'CONTAINER ID   NAME   CPU %    MEM USAGE / LIMIT   MEM %    NET I/O       BLOCK I/O     PIDS');
  assert.equal(statsLine(limited, widths), 'aaaaaaaaaaaa   web    25.00%   256MiB / 1GiB       25.00%   1.5kB / 20B   1.23MB / 0B   4');
});

const STAT = '4242 (my (odd) prog) S 4200 4242 4242 34818 4242 4194560 120 0 0 0 250 50 0 0 20 0 1 0 500000 10485760 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0';

test('/proc/<pid>/stat with a comm holding spaces and parentheses; status; cmdline', () => {
  assert.deepEqual(parseProcStat(STAT), {
    pid: 4242, comm: 'my (odd) prog', state: 'S', ppid: 4200, pgrp: 4242, session: 4242, ttyNr: 34818, tpgid: 4242,
    utime: 250, stime: 50, nice: 0, threads: 1, starttime: 500000, vsizeBytes: 10485760,
  });
  assert.deepEqual(parseProcStatus('Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmRSS:\t    1580 kB\n'), { uid: 0, rssKb: 1580 });
  assert.deepEqual(parseProcStatus('Name:\tkthreadd\nUid:\t0\t0\t0\t0\n'), { uid: 0, rssKb: 0 });
  assert.deepEqual(parseCmdline('sh\0-c\0\0echo hi\0'), ['sh', '-c', '', 'echo hi']);
  assert.deepEqual(parseCmdline(''), []);
  assert.throws(() => parseProcStat('garbage'), BerthError);
});

test('ttys and CPU times as ps prints them', () => {
  assert.equal(ttyName(0), '?');
  assert.equal(ttyName((136 << 8) | 2), 'pts/2');
  assert.equal(ttyName((137 << 8) | 1), 'pts/257');
  assert.equal(ttyName((4 << 8) | 1), 'tty1');
  assert.equal(ttyName((4 << 8) | 64), 'ttyS0');
  assert.equal(cpuTime(3.99), '00:00:03');
  assert.equal(cpuTime(90061), '1-01:01:01');
});

const ctx: PsContext = {
  nowSec: 1_700_000_000 + 5000 + 100,
  bootTimeSec: 1_700_000_000,
  clockTicks: 100,
  memTotalBytes: 1024 * 1024 * 1024,
  userName: (uid) => new Map([[0, 'root'], [1000, 'a-very-long-name']]).get(uid),
  localTime: (t) => { const d = new Date(t * 1000); return new Date(d.getTime() + d.getTimezoneOffset() * 60_000); }, // as if UTC
};
const proc: ProcInfo = { ...parseProcStat(STAT), uid: 0, rssKb: 2048, args: ['my', '--flag', 'x y'] };

test('ps -ef columns (the default), -e, and -o with fields, aliases and headers', () => {
  const full = psColumns([]);
  assert.deepEqual(full.map((c) => c.header), ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  // started 5000 s after boot (23:36 UTC), 100 s ago; 3 s of CPU
  assert.deepEqual(psCells(proc, full, ctx), ['root', '4242', '4200', '3', '23:36', 'pts/2', '00:00:03', 'my --flag x y']);
  assert.deepEqual(psColumns(['-e']).map((c) => c.header), ['PID', 'TTY', 'TIME', 'CMD']);
  assert.deepEqual(psCells(proc, psColumns(['-e']), ctx), ['4242', 'pts/2', '00:00:03', 'my (odd) prog']);
  const o = psColumns(['-eo', 'pid,%cpu,%mem,rss,etime,user,args=WHAT']);
  assert.deepEqual(o.map((c) => c.header), ['PID', '%CPU', '%MEM', 'RSS', 'ELAPSED', 'USER', 'WHAT']);
  assert.deepEqual(psCells({ ...proc, uid: 1000 }, o, ctx), ['4242', '3.0', '0.2', '2048', '01:40', 'a-very-+', 'my --flag x y']);
  assert.deepEqual(psCells({ ...proc, args: [] }, psColumns(['-o', 'cmd']), ctx), ['[my (odd) prog]'], 'a kernel thread or zombie');
  assert.deepEqual(psCells({ ...proc, uid: 4321 }, psColumns(['-f']), ctx)[0], '4321', 'no passwd entry: the number');
  assert.throws(() => psColumns(['-L']), /ps option "-L" is not supported/);
  assert.throws(() => psColumns(['-o', 'pid,wchan']), /ps field "wchan" is not supported/);
  assert.throws(() => psColumns(['-o']), /needs a field list/);
});

test('BSD aux and ax; STAT flags as procps prints them', () => {
  const aux = psColumns(['aux']);
  assert.deepEqual(aux.map((c) => c.header), ['USER', 'PID', '%CPU', '%MEM', 'VSZ', 'RSS', 'TTY', 'STAT', 'START', 'TIME', 'COMMAND']);
  assert.deepEqual(psCells(proc, aux, ctx), ['root', '4242', '3.0', '0.2', '10240', '2048', 'pts/2', 'Ss+', '23:36', '0:03', 'my --flag x y']);
  assert.deepEqual(psColumns(['ax']).map((c) => c.header), ['PID', 'TTY', 'STAT', 'TIME', 'COMMAND']);
  const stat = (over: Partial<ProcInfo>): string => psCells({ ...proc, ...over }, psColumns(['-o', 'stat']), ctx)[0]!;
  assert.equal(stat({ session: 1, threads: 4, nice: -5 }), 'S<l+');
  assert.equal(stat({ session: 1, nice: 19, ttyNr: 0, state: 'R' }), 'RN');
  assert.equal(stat({ session: 1, tpgid: 99 }), 'S', 'in the background of its terminal');
});

test('STIME: HH:MM today, MonDD this year, the year before', () => {
  const days = (n: number): number => n * 86400 * 100;
  const at = (ticks: number): string => psCells({ ...proc, starttime: ticks }, psColumns(['-o', 'stime']), { ...ctx, nowSec: ctx.bootTimeSec + 400 * 86400 })[0]!;
  assert.equal(at(days(399.5)), new Date((ctx.bootTimeSec + 399.5 * 86400) * 1000).toISOString().slice(11, 16));
  assert.match(at(days(380)), /^[A-Z][a-z]{2}\d\d$/);
  assert.equal(at(0), '2023');
});

test('docker top table: 20-column minimum, the last column unpadded', () => {
  const cols = psColumns(['-o', 'pid,args']);
  assert.equal(topTable(cols, [['1', 'sh']]), `${'PID'.padEnd(20)}COMMAND\n${'1'.padEnd(20)}sh\n`);
  assert.deepEqual([...parsePasswd('root:x:0:0::/root:/bin/sh\nbad\ntoor:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n')], [[0, 'root'], [1000, 'app']]);
});
