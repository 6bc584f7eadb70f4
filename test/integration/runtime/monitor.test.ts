// berth-spawn --monitor under berth-runtime: the container outlives its caller's pipes, its output
// lands in a CRI log, its exit status (or 128 + signal) in the exit file; a failing create is
// reported with the runtime's own message and leaves no container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { berthRuntimeBin } from '../../support/cli.ts';
import { runtimeSuite } from '../../support/runtime-suite.ts';
import { readExitFile, startMonitored } from '../../../src/runtime/monitor.ts';
import { joinLogLines, parseCriLog } from '../../../src/runtime/cri-log.ts';
import { readLog } from '../../../src/runtime/log-reader.ts';
import { reopenLog } from '../../../src/runtime/attach-client.ts';
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

/** sh that prints lines "<n, 8 digits> <padding>" for n = 1..count, every `longEvery`-th one 200 KB long. */
const numbered = (count: number, longEvery: number): string[] => [
  'awk',
  `BEGIN { pad = sprintf("%96s", ""); gsub(/ /, ".", pad); long = "x"; while (length(long) < 200000) long = long long;
     for (i = 1; i <= ${count}; i++) printf "%08d %s\\n", i, (i % ${longEvery} == 0 ? long : pad) }`,
];

/** The log's files, oldest first, as the monitor left them. */
function logFiles(path: string, maxFiles: number): string[] {
  return Array.from({ length: maxFiles }, (_, i) => (i === 0 ? path : `${path}.${i}`)).filter((f) => existsSync(f)).reverse();
}

/** Every file holds whole records only, and none is larger than the limit. */
function assertWholeRecords(files: string[], maxSize: number): void {
  for (const f of files) {
    const text = readFileSync(f);
    assert.ok(text.length <= maxSize, `${f}: ${text.length} bytes > ${maxSize}`);
    assert.equal(text.at(-1), 0x0a, `${f} ends with a whole record`);
    for (const line of text.toString('latin1').slice(0, -1).split('\n')) {
      assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z std(out|err) [FP] /, `${f}: not a whole record`);
    }
  }
}

async function numbersIn(path: string, rotated: number): Promise<number[]> {
  const out: number[] = [];
  for await (const batch of readLog(path, { rotated })) for (const l of batch) out.push(/^\d{8} /.test(l.text) ? Number(l.text.slice(0, 8)) : -1);
  return out;
}

test('rotation at a size limit: 30 MiB of numbered lines, each exactly once across the files, in order; no file past the limit', async () => {
  const count = 290_000; // ~106 bytes a line, 30 MiB; every 20,000th line is 200 KB, logged in pieces
  const maxSize = 1_000_000;
  for (const maxFiles of [80, 3, 1]) {
    const id = `mon-rot-${maxFiles}`;
    const b = newBundle(numbered(count, 20_000));
    const f = files(id);
    const t0 = Date.now();
    await startMonitored({ ...f, logLimits: { maxSize, maxFiles }, createCommand: () => [berthRuntimeBin, '--root', rt.root, 'create', '--bundle', b.dir, '--pid-file', f.pidFile, id] });
    rt.ok(['start', id]);
    assert.equal(await exitOf(f.exitFile, 60_000), 0);
    const written = Date.now() - t0;
    const kept = logFiles(f.logFile, maxFiles);
    assertWholeRecords(kept, maxSize);
    const numbers = await numbersIn(f.logFile, maxFiles - 1);
    if (maxFiles === 80) {
      assert.ok(kept.length > 30, `${kept.length} files`);
      assert.equal(numbers.length, count);
      assert.ok(numbers.every((n, i) => n === i + 1), 'every number once, in order');
      // Some long line's pieces landed in two files (a file ends with a P record), and came back whole.
      const endsInPiece = kept.slice(0, -1).some((k) => / stdout P [^\n]*\n$/.test(readFileSync(k, 'latin1').slice(-70_000)));
      assert.ok(endsInPiece, 'a line continues in the next file');
      process.stdout.write(`# ${count} lines (${kept.length} files) logged in ${written} ms\n`);
    } else {
      assert.equal(kept.length, maxFiles);
      assert.equal(existsSync(`${f.logFile}.${maxFiles}`), false);
      // The oldest file may begin inside a long line whose start fell off: that piece has no number.
      const whole = numbers[0] === -1 ? numbers.slice(1) : numbers;
      // Full rotated files and the live one, however full it is.
      assert.ok(whole.length > 0 && whole.length > 6000 * (maxFiles - 1), `${whole.length} lines kept`);
      assert.equal(whole.at(-1), count, 'the newest lines are kept');
      assert.ok(whole.every((n, i) => n === whole[0]! + i), 'the kept lines are contiguous: none lost or doubled at a rotation');
    }
    rt.ok(['delete', id]);
  }
});

test('reopen: after the log was renamed away, the monitor writes to a new file at the path, losing nothing', async () => {
  const id = 'mon-reopen';
  const b = newBundle(['sh', '-c', 'i=0; while [ $i -lt 400 ]; do echo $i; i=$((i+1)); sleep 0.005; done']);
  const f = { ...files(id), attachSocket: join(work, `${id}.sock`) };
  await startMonitored({ ...f, createCommand: () => [berthRuntimeBin, '--root', rt.root, 'create', '--bundle', b.dir, '--pid-file', f.pidFile, id] });
  rt.ok(['start', id]);
  const count = (path: string): number => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').length - 1 : 0);
  for (let i = 0; i < 200 && count(f.logFile) < 30; i++) await delay(10);
  renameSync(f.logFile, `${f.logFile}.kubelet`);
  await reopenLog(f.attachSocket);
  assert.ok(existsSync(f.logFile), 'a new file at once');
  assert.equal(await exitOf(f.exitFile, 20_000), 0);
  const old = joinLogLines(parseCriLog(readFileSync(`${f.logFile}.kubelet`))).map((l) => Number(l.text));
  const fresh = joinLogLines(parseCriLog(readFileSync(f.logFile))).map((l) => Number(l.text));
  assert.ok(old.length >= 30 && fresh.length > 0, `${old.length} + ${fresh.length} lines`);
  assert.deepEqual([...old, ...fresh], Array.from({ length: 400 }, (_, i) => i));
  rt.ok(['delete', id]);
  await assert.rejects(reopenLog(f.attachSocket), (e: unknown) => e instanceof BerthError && e.kind === 'unavailable', 'no monitor, no reopen');
});

const tracerOf = (pid: number): number => Number(/^TracerPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
const stateOf = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!;

test('exit-kill: the container dies with its monitor (SIGKILL), and signals still reach it while the monitor lives', async () => {
  const script = 'trap "exit 5" TERM; while true; do sleep 0.05; done';
  const run = async (id: string, exitKill: boolean) => {
    const b = newBundle(['sh', '-c', script]);
    const f = files(id);
    const m = await startMonitored({ ...f, exitKill, createCommand: () => [berthRuntimeBin, '--root', rt.root, 'create', '--bundle', b.dir, '--pid-file', f.pidFile, id] });
    rt.ok(['start', id]);
    return { m, f };
  };
  const { m, f } = await run('mon-tied', true);
  assert.equal(m.monitor.bound, true);
  assert.equal(m.unbound, undefined);
  assert.equal(tracerOf(m.pid), m.monitor.pid, 'the init is traced by its monitor');
  // A stop stays a stop (not resumed by the tracer) until SIGCONT.
  process.kill(m.pid, 'SIGSTOP');
  for (let i = 0; i < 100 && !'tT'.includes(stateOf(m.pid)); i++) await delay(10);
  await delay(300);
  assert.ok('tT'.includes(stateOf(m.pid)), `stopped: ${stateOf(m.pid)}`);
  process.kill(m.pid, 'SIGCONT');
  for (let i = 0; i < 100 && 'tT'.includes(stateOf(m.pid)); i++) await delay(10);
  assert.ok(!'tT'.includes(stateOf(m.pid)), 'running again');
  // A handled signal is delivered: the trap runs, the status is recorded.
  rt.ok(['kill', 'mon-tied', 'TERM']);
  assert.equal(await exitOf(f.exitFile), 5);
  rt.ok(['delete', 'mon-tied']);

  const tied = await run('mon-tied-kill', true);
  process.kill(tied.m.monitor.pid, 'SIGKILL');
  for (let i = 0; i < 100 && alive(tied.m.pid); i++) await delay(10);
  assert.equal(alive(tied.m.pid), false, 'the kernel killed the container with its monitor');
  assert.equal(readExitFile(tied.f.exitFile), undefined, 'nobody recorded an exit');
  rt.ok(['delete', '--force', 'mon-tied-kill']);

  const free = await run('mon-free', false);
  assert.equal(free.m.monitor.bound, false);
  assert.equal(tracerOf(free.m.pid), 0, 'not traced');
  process.kill(free.m.monitor.pid, 'SIGKILL');
  await delay(300);
  assert.equal(alive(free.m.pid), true, 'without exit-kill the container outlives its monitor');
  rt.ok(['delete', '--force', 'mon-free']);
  assert.equal(alive(free.m.pid), false);
});
