// `berth stats` and `berth top` against real containers: a CPU spinner, a container whose memory
// grows by 64 MiB (a tmpfs file, charged to its cgroup and never inactive page cache), a
// stopped one. Numbers come from the cgroup files the kernel keeps, so the test asserts them
// against what the processes did.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildImage, testLayers, writeOciLayout } from '../../fixtures/image/test-image.ts';
import type { StatsCells } from '../../../src/cli/berth/stats-format.ts';
import { removeBerthStore, repoRoot, runCli, type RunResult } from '../../support/cli.ts';

let work: string;
let root: string;
let image: string;
const berthBin = join(repoRoot, 'bin/berth');
const berth = (...args: string[]): RunResult => runCli(berthBin, ['--root', root, ...args], { timeoutMs: 60_000 });
const ok = (...args: string[]): string => {
  const r = berth(...args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const MiB = 1024 * 1024;
const ids: Record<string, string> = {};

type JsonRow = StatsCells;

/** "64.19MiB" -> bytes */
function binaryBytes(text: string): number {
  const m = /^([\d.]+)(B|KiB|MiB|GiB|TiB)$/.exec(text);
  assert.ok(m, `a binary size: ${text}`);
  return Number(m[1]) * 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(m[2]!);
}

function statsJson(...names: string[]): JsonRow[] {
  return ok('stats', '--no-stream', '--format', 'json', ...names).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as JsonRow);
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-stats-'));
  root = join(work, 'store');
  writeOciLayout(buildImage({ layers: testLayers(), cmd: ['sh'] }), join(work, 'layout'), 'stats');
  ok('load', '-i', join(work, 'layout'));
  const [first] = JSON.parse(ok('images', '--format', 'json')) as Array<{ name?: string; repository?: string }>;
  image = first?.name ?? `${first?.repository}`;
  ids.spin = ok('run', '-d', '--name', 'spin', image, 'sh', '-c', 'while :; do :; done').trim();
  ids.mem = ok('run', '-d', '--name', 'mem', '--network', 'none', image, 'sleep', '1000').trim();
  ok('run', '--name', 'done', image, 'true'); // in the foreground: stopped once this returns
});

after(() => removeBerthStore(root, work));

test('stats --no-stream: the spinner uses CPU, the sleeper does not; memory follows a 64 MiB allocation', () => {
  const before = statsJson('spin', 'mem');
  assert.deepEqual(before.map((r) => r.Name), ['spin', 'mem']);
  const spinCpu = Number.parseFloat(before[0]!.CPUPerc);
  const memCpu = Number.parseFloat(before[1]!.CPUPerc);
  assert.ok(spinCpu > 5, `the spinner is busy: ${before[0]!.CPUPerc}`);
  assert.ok(memCpu < 2, `the sleeper is idle: ${before[1]!.CPUPerc}`);
  assert.equal(before[0]!.PIDs, '1');
  assert.equal(before[0]!.ID, ids.spin!.slice(0, 12));
  const baseline = binaryBytes(before[1]!.MemUsage.split(' / ')[0]!);
  assert.ok(baseline < 16 * MiB, `a sleeping busybox: ${before[1]!.MemUsage}`);

  ok('exec', 'mem', '/bin/busybox', 'dd', 'if=/dev/zero', 'of=/dev/shm/fill', 'bs=1048576', 'count=64');
  const [afterRow] = statsJson('mem');
  const [usage, limit] = afterRow!.MemUsage.split(' / ') as [string, string];
  const grown = binaryBytes(usage) - baseline;
  assert.ok(grown >= 63 * MiB && grown < 96 * MiB, `64 MiB more: ${before[1]!.MemUsage} -> ${afterRow!.MemUsage}`);
  const hostMemory = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
  assert.ok(Math.abs(binaryBytes(limit) - hostMemory) / hostMemory < 0.001, `no limit: the host's memory (${limit})`);
  assert.match(afterRow!.MemPerc, /^\d+\.\d\d%$/);
  assert.equal(afterRow!.NetIO, '0B / 0B', 'a network namespace with loopback only');
});

test('stats with no names lists the running containers; a stopped one named shows --', () => {
  const table = ok('stats', '--no-stream').trim().split('\n');
  assert.match(table[0]!, /^CONTAINER ID +NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS$/);
  const names = table.slice(1).map((l) => l.split(/\s+/)[1]).sort();
  assert.deepEqual(names, ['mem', 'spin']);
  const [stopped] = statsJson('done');
  assert.deepEqual({ ...stopped, ID: '' }, { ID: '', Name: 'done', CPUPerc: '--', MemUsage: '-- / --', MemPerc: '--', NetIO: '-- / --', BlockIO: '-- / --', PIDs: '--' });
  const bad = berth('stats', '--no-stream', 'nope');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /no such container/);
});

test('stats streams: a line per container each second until stopped', async () => {
  const child = spawn(berthBin, ['--root', root, 'stats', '--format', 'json', 'spin'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Array<{ row: JsonRow; at: number }> = [];
  const started = Date.now();
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      lines.push({ row: JSON.parse(line) as JsonRow, at: Date.now() - started });
      if (lines.length === 3) break;
    }
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => l.row.Name === 'spin' && Number.parseFloat(l.row.CPUPerc) > 5), JSON.stringify(lines));
  const gaps = [lines[1]!.at - lines[0]!.at, lines[2]!.at - lines[1]!.at];
  assert.ok(gaps.every((g) => g > 700 && g < 3000), `about a second apart: ${gaps}`);
});

test('on a terminal, stats redraws the whole table each second', async () => {
  // pty-run.py gives berth a terminal; when it ends, the hang-up ends berth.
  const child = spawn('python3', [join(repoRoot, 'test/support/pty-run.py'), '24', '160', berthBin, '--root', root, 'stats', 'spin', 'mem'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const CLEAR = '\x1b[2J\x1b[H';
  let out = '';
  try {
    await new Promise<void>((done, fail) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split(CLEAR).length > 3) done();
      });
      child.on('exit', () => fail(new Error(`stats ended: ${JSON.stringify(out)}`)));
    });
  } finally {
    child.kill('SIGTERM');
  }
  const frames = out.split(CLEAR).slice(1, 3);
  for (const frame of frames) {
    const lines = frame.trim().split(/\r?\n/);
    assert.match(lines[0]!, /^CONTAINER ID +NAME +CPU %/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[1]), ['spin', 'mem'], JSON.stringify(frame));
  }
});

test('top shows every process of the container as ps -ef does, and takes -o fields', () => {
  ok('exec', '-d', 'mem', 'sleep', '999');
  // exec -d returns once the process is in the container, maybe just before its execve.
  let out = ok('top', 'mem');
  for (let i = 0; i < 20 && !out.includes('sleep 999'); i++) out = ok('top', 'mem');
  const [header, ...rows] = out.trim().split('\n');
  assert.deepEqual(header!.split(/\s+/), ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.equal(rows.length, 2, out);
  const cmds = rows.map((r) => r.split(/\s{2,}/).at(-1)).sort();
  assert.deepEqual(cmds, ['sleep 1000', 'sleep 999']);
  for (const row of rows) {
    const [uid, pid, , c, stime, tty, time] = row.split(/\s+/);
    assert.equal(uid, 'root');
    assert.ok(readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(ids.mem!), `pid ${pid} is in the container's cgroup`);
    assert.match(c!, /^\d+$/);
    assert.match(stime!, /^\d\d:\d\d$/);
    assert.equal(tty, '?');
    assert.match(time!, /^\d\d:\d\d:\d\d$/);
    // The same row as the host's ps prints for that pid.
    const ps = execFileSync('ps', ['-f', '-p', pid!], { encoding: 'utf8' }).trim().split('\n')[1]!;
    assert.deepEqual(ps.split(/\s+/).slice(0, 2), [uid, pid]);
  }
  const fields = ok('top', 'spin', '-o', 'pid,user,args').trim().split('\n');
  assert.deepEqual(fields[0]!.split(/\s+/), ['PID', 'USER', 'COMMAND']);
  assert.match(fields[1]!, /^\d+\s+root\s+sh -c while :; do :; done$/);

  const stopped = berth('top', 'done');
  assert.notEqual(stopped.code, 0);
  assert.match(stopped.stderr, /not running/);
  const badOption = berth('top', 'mem', '-L');
  assert.notEqual(badOption.code, 0);
  assert.match(badOption.stderr, /ps option "-L" is not supported/);

  // aux: STAT, VSZ and RSS as the host's ps shows them for the same process.
  const [auxHeader, auxRow] = ok('top', 'spin', 'aux').trim().split('\n');
  assert.deepEqual(auxHeader!.split(/\s+/), ['USER', 'PID', '%CPU', '%MEM', 'VSZ', 'RSS', 'TTY', 'STAT', 'START', 'TIME', 'COMMAND']);
  const [, auxPid, , , vsz, , , stat] = auxRow!.split(/\s+/);
  const ps = execFileSync('ps', ['-o', 'vsz=,stat=', '-p', auxPid!], { encoding: 'utf8' }).trim().split(/\s+/);
  assert.deepEqual([vsz, stat], ps);
});
