// berth's runtime as a library, creating containers under `berth-spawn --monitor --plan-fd`: the
// monitor runs the plan itself (init is its own child; no other program starts), keeps the output
// in the CRI log, announces the exit on its channel and its attach socket, and a failure or a
// caller that goes away leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { leftovers, repoRoot } from '../../support/cli.ts';
import { runtimeSuite } from '../../support/runtime-suite.ts';
import { Runtime } from '../../../src/runtime/container.ts';
import { watchExit } from '../../../src/runtime/attach-client.ts';
import { joinLogLines, parseCriLog } from '../../../src/runtime/cri-log.ts';
import { processAlive, readProcStat } from '../../../src/sys/proc.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import type { MonitorSettings } from '../../../src/runtime/monitor.ts';

const { rt, work, newBundle } = runtimeSuite('mplan');
const warnings: string[] = [];
const runtime = new Runtime({ root: rt.root, warn: (m) => warnings.push(m) });

function settings(id: string, extra: Partial<MonitorSettings> = {}): Omit<MonitorSettings, 'terminal'> {
  return { logFile: join(work, `${id}.log`), exitFile: join(work, `${id}.exit`), attachSocket: join(work, `${id}.sock`), exitKill: true, ...extra };
}

const ppidOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
const childrenOf = (pid: number): number[] => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
const cmdline = (pid: string): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};
const readlinkSafe = (path: string): string => {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
};
const logLines = (file: string): string[] => joinLogLines(parseCriLog(readFileSync(file, 'utf8'))).map((l) => `${l.stream}:${l.text}`);

test('the monitor runs the plan: init is its only child, output goes to the log, the exit comes as an event with the exit file\'s time', async () => {
  const b = newBundle(['sh', '-c', 'read x < /dev/null; echo out; echo err >&2; exit 3']);
  const h = await runtime.create({ id: 'mp-basic', bundle: b.dir, monitor: settings('mp-basic') });
  const monitor = h.monitor!;
  assert.equal(ppidOf(h.pid), monitor.pid, 'init is the monitor\'s own child: nothing was reparented');
  assert.deepEqual(childrenOf(monitor.pid), [h.pid], 'no runtime program runs under the monitor');
  assert.match(readFileSync(`/proc/${monitor.pid}/cmdline`, 'utf8'), /--plan-fd/);
  assert.equal(monitor.bound, true, 'tied with ptrace');
  assert.equal(runtime.state('mp-basic').status, 'created');
  await runtime.start('mp-basic');
  const exit = await h.wait();
  assert.equal(exit?.status, 3);
  assert.equal(exit?.time, statSync(join(work, 'mp-basic.exit'), { bigint: true }).mtimeNs, 'the exit file\'s modification time is the exit time');
  assert.ok(exit!.time! > BigInt(Date.now() - 60_000) * 1_000_000n);
  assert.equal(readFileSync(join(work, 'mp-basic.exit'), 'utf8'), '3');
  assert.deepEqual(logLines(join(work, 'mp-basic.log')).sort(), ['stderr:err', 'stdout:out']);
  assert.equal(runtime.state('mp-basic').status, 'stopped');
  await runtime.delete('mp-basic');
  assert.deepEqual(leftovers(b.rootfs, join(rt.root, 'mp-basic'), 'mp-basic'), []);
});

test('a terminal: the monitor receives the pty during set-up and logs it', async () => {
  const b = newBundle(['sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo "on a terminal"; exit 0'], (s) => (s.process!.terminal = true));
  const h = await runtime.create({ id: 'mp-tty', bundle: b.dir, monitor: settings('mp-tty') });
  await runtime.start('mp-tty');
  assert.equal((await h.wait())?.status, 0);
  assert.match(readFileSync(join(work, 'mp-tty.log'), 'utf8'), / stdout F on a terminal\r$/m);
  await runtime.delete('mp-tty');
});

test('a watcher on the attach socket gets the exit and none of the output; without a log file the container runs all the same', async () => {
  const b = newBundle(['sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done; sleep 0.3; exit 4']);
  const s = settings('mp-watch', { logFile: undefined });
  const h = await runtime.create({ id: 'mp-watch', bundle: b.dir, monitor: s });
  const watched = watchExit(s.attachSocket!);
  await delay(100); // connected before the output starts
  await runtime.start('mp-watch');
  const [heard, fromChannel] = await Promise.all([watched.exit, h.wait()]);
  assert.deepEqual(heard, fromChannel);
  assert.equal(heard?.status, 4);
  assert.equal(existsSync(join(work, 'mp-watch.log')), false, 'no log file was made');
  await runtime.delete('mp-watch');
});

test('a failing plan is reported with the config field, and leaves nothing: no monitor, init, cgroup or state', async () => {
  const b = newBundle(['/no/such/program']);
  await assert.rejects(runtime.create({ id: 'mp-bad', bundle: b.dir, monitor: settings('mp-bad') }), (e: unknown) => {
    assert.ok(e instanceof BerthError);
    assert.equal(e.where.field, 'process.args[0]');
    assert.match(e.message, /\/no\/such\/program/);
    return true;
  });
  assert.deepEqual(leftovers(b.rootfs, join(rt.root, 'mp-bad'), 'mp-bad'), []);
  assert.equal(existsSync(join(work, 'mp-bad.exit')), false);
  assert.equal(existsSync(join(work, 'mp-bad.sock')), false);
  const monitors = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(join(work, 'mp-bad.exit'));
    } catch {
      return false;
    }
  });
  assert.deepEqual(monitors, [], 'the monitor has exited');
});

test('the container dies with a SIGKILLed monitor (ptrace exit-kill); the creator hears no exit', async () => {
  const b = newBundle(['sleep', '1000']);
  const h = await runtime.create({ id: 'mp-tied', bundle: b.dir, monitor: settings('mp-tied') });
  await runtime.start('mp-tied');
  process.kill(h.monitor!.pid, 'SIGKILL');
  assert.equal(await h.wait(), undefined);
  for (let i = 0; i < 100 && processAlive(h.pid); i++) await delay(20);
  assert.equal(processAlive(h.pid), false);
  assert.equal(runtime.state('mp-tied').status, 'stopped');
  await runtime.delete('mp-tied');
});

test('a caller killed during set-up takes the monitor and init with it', async () => {
  const b = newBundle(['true'], (s) => (s.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'] }] }));
  const script = `
    import { Runtime } from ${JSON.stringify(join(repoRoot, 'src/runtime/container.ts'))};
    const rt = new Runtime({ root: ${JSON.stringify(rt.root)} });
    await rt.create({ id: 'mp-orphan', bundle: ${JSON.stringify(b.dir)}, monitor: ${JSON.stringify(settings('mp-orphan'))} });
  `;
  const caller = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  // Wait until init exists (the hook runs while it waits at its sync point): the monitor's child.
  const exitFile = join(work, 'mp-orphan.exit');
  let monitor = 0;
  let init = 0;
  for (let i = 0; i < 200 && !init; i++) {
    await delay(25);
    monitor ||= Number(readdirSync('/proc').find((p) => /^\d+$/.test(p) && cmdline(p).includes('\0--monitor\0') && cmdline(p).includes(exitFile)) ?? 0);
    if (monitor) init = childrenOf(monitor).find((c) => existsSync(`/proc/${c}/ns/pid`) && readlinkSafe(`/proc/${c}/ns/pid`) !== readlinkSafe('/proc/self/ns/pid')) ?? 0;
  }
  assert.ok(init > 0, 'init was cloned');
  assert.equal(ppidOf(init), monitor);
  const startTime = readProcStat(init)!.startTime;
  caller.kill('SIGKILL');
  for (let i = 0; i < 100 && (processAlive(init, startTime) || processAlive(monitor)); i++) await delay(20);
  assert.equal(processAlive(init, startTime), false, 'init is gone');
  assert.equal(processAlive(monitor), false, 'the monitor is gone');
  rt.ok(['delete', '--force', 'mp-orphan']);
  assert.deepEqual(leftovers(b.rootfs, join(rt.root, 'mp-orphan'), 'mp-orphan'), []);
});
