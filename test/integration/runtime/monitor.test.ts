// berth-spawn --monitor under berth-runtime: the container outlives its caller's pipes, its output
// lands in a CRI log, its exit status (or 128 + signal) in the exit file; a failing create is
// reported with the runtime's own message and leaves no container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { existsSync, readFileSync } from 'node:fs';
import { berthRuntimeBin } from '../../support/cli.ts';
import { runtimeSuite } from '../../support/runtime-suite.ts';
import { readExitFile, startMonitored } from '../../../src/runtime/monitor.ts';
import { joinLogLines, parseCriLog } from '../../../src/runtime/cri-log.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const { rt, work, newBundle } = runtimeSuite('mon');

function files(id: string) {
  return { pidFile: join(work, `${id}.pid`), logFile: join(work, `${id}.log`), exitFile: join(work, `${id}.exit`) };
}

function monitored(id: string, bundle: string) {
  const f = files(id);
  return { f, started: startMonitored({ ...f, createCommand: () => [berthRuntimeBin, '--root', rt.root, 'create', '--bundle', bundle, '--pid-file', f.pidFile, id] }) };
}

async function exitOf(path: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const code = readExitFile(path);
    if (code !== undefined) return code;
    if (Date.now() > deadline) throw new Error(`no exit file ${path}`);
    await delay(20);
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

test('output goes to a CRI log, partial lines marked; the exit status to the exit file', async () => {
  const b = newBundle(['sh', '-c', 'echo out; echo err >&2; printf partial; sleep 0.2; echo " end"; exit 3']);
  const { f, started } = monitored('mon-out', b.dir);
  const m = await started;
  assert.equal(JSON.parse(rt.ok(['state', 'mon-out'])).status, 'created');
  assert.equal(JSON.parse(rt.ok(['state', 'mon-out'])).pid, m.pid);
  rt.ok(['start', 'mon-out']);
  assert.equal(await exitOf(f.exitFile), 3);
  const lines = joinLogLines(parseCriLog(readFileSync(f.logFile, 'utf8'))).map((l) => `${l.stream}:${l.text}`);
  assert.deepEqual(lines.sort(), ['stderr:err', 'stdout:out', 'stdout:partial end']);
  assert.match(readFileSync(f.logFile, 'utf8'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout P partial$/m);
  for (let i = 0; i < 100 && alive(m.monitor.pid); i++) await delay(20);
  assert.equal(alive(m.monitor.pid), false, 'the monitor ends with its container');
  assert.equal(JSON.parse(rt.ok(['state', 'mon-out'])).status, 'stopped');
  rt.ok(['delete', 'mon-out']);
});

test('a container killed by a signal records 128 + the signal', async () => {
  const b = newBundle(['sleep', '60']);
  const { f, started } = monitored('mon-kill', b.dir);
  await started;
  rt.ok(['start', 'mon-kill']);
  rt.ok(['kill', 'mon-kill', 'KILL']);
  assert.equal(await exitOf(f.exitFile), 137);
  rt.ok(['delete', 'mon-kill']);
});

test('a failing create is reported with the runtime\'s message, and leaves no container', async () => {
  const b = newBundle(['/no/such/program']);
  const { f, started } = monitored('mon-bad', b.dir);
  await assert.rejects(started, (e: unknown) => {
    assert.ok(e instanceof BerthError);
    assert.match(e.message, /^create under the monitor failed: .*\/no\/such\/program/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  assert.equal(readExitFile(f.exitFile), undefined);
  assert.equal(rt.run(['state', 'mon-bad']).code === 0, false);
});

test('the exit command runs after the exit file is written', async () => {
  const b = newBundle(['sh', '-c', 'exit 7']);
  const f = files('mon-exitcmd');
  const marker = join(work, 'exit-command-ran');
  await startMonitored({
    ...f,
    createCommand: () => [berthRuntimeBin, '--root', rt.root, 'create', '--bundle', b.dir, '--pid-file', f.pidFile, 'mon-exitcmd'],
    exitCommand: ['/bin/sh', '-c', `cat ${f.exitFile} > ${marker}.tmp && mv ${marker}.tmp ${marker}`],
  });
  rt.ok(['start', 'mon-exitcmd']);
  assert.equal(await exitOf(f.exitFile), 7);
  for (let i = 0; i < 100 && !existsSync(marker); i++) await delay(20);
  assert.equal(readFileSync(marker, 'utf8'), '7', 'it saw the exit file');
  rt.ok(['delete', 'mon-exitcmd']);
});

test('a container with a terminal: the monitor receives its pty, logs it, and keeps it open; stdin can be a held pipe', async () => {
  const b = newBundle(['sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo "on a terminal"; read line; echo "never: $line"'], (s) => (s.process!.terminal = true));
  const f = files('mon-tty');
  await startMonitored({
    ...f,
    terminal: true,
    createCommand: (consoleSocket) => [berthRuntimeBin, '--root', rt.root, 'create', '--bundle', b.dir, '--pid-file', f.pidFile, '--console-socket', consoleSocket!, 'mon-tty'],
  });
  rt.ok(['start', 'mon-tty']);
  let log = '';
  for (let i = 0; i < 100 && !log.includes('on a terminal'); i++) {
    await delay(20);
    log = readFileSync(f.logFile, 'utf8');
  }
  assert.match(log, / stdout F on a terminal\r$/m);
  await delay(300);
  assert.equal(JSON.parse(rt.ok(['state', 'mon-tty'])).status, 'running', 'the read waits on the open terminal');
  rt.ok(['kill', 'mon-tty', 'KILL']);
  assert.equal(await exitOf(f.exitFile), 137);
  rt.ok(['delete', 'mon-tty']);

  const piped = newBundle(['sh', '-c', 'echo waiting; read line; echo "never: $line"']);
  const g = files('mon-stdin');
  await startMonitored({ ...g, stdinPipe: true, createCommand: () => [berthRuntimeBin, '--root', rt.root, 'create', '--bundle', piped.dir, '--pid-file', g.pidFile, 'mon-stdin'] });
  rt.ok(['start', 'mon-stdin']);
  await delay(500);
  assert.equal(JSON.parse(rt.ok(['state', 'mon-stdin'])).status, 'running', 'stdin stays open');
  rt.ok(['kill', 'mon-stdin', 'KILL']);
  assert.equal(await exitOf(g.exitFile), 137);
  assert.doesNotMatch(readFileSync(g.logFile, 'utf8'), /never/);
  rt.ok(['delete', 'mon-stdin']);
});
