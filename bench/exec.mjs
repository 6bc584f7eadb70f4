#!/usr/bin/env node
// `exec` into a running container: berth-runtime against runc, in the same run, interleaved.
// Each runtime runs its own busybox container (`sleep`) with its own --root, started the way
// containerd's runc shim does it (create --pid-file, start); then every iteration times
//   <runtime> --root R exec <id> true
// in the foreground until it exits with the process's status (0), as a caller sees it.
// Usage: node bench/exec.mjs [--iterations N] [--warmup N] [--json FILE] [--berth FILE]
// Needs root, runc, busybox-static and a built berth (npm run build). See bench/README.md.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandRunner, cleanEnv } from './lib/timed-spawn.mjs';
import { commandPath, firstLine } from './lib/host-tools.mjs';
import { procStat } from './lib/proc-wait.mjs';
import { formatTable, ms, ratio, summarize } from './lib/stats.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: node bench/exec.mjs [--iterations N] [--warmup N] [--json FILE] [--berth FILE]
  --iterations N  measured iterations of every variant (default 30)
  --warmup N      unmeasured iterations first (default 3)
  --json FILE     also write every sample and summary to FILE
  --berth FILE    the berth-runtime executable to measure (default bin/berth-runtime)`;

function fail(message) {
  process.stderr.write(`exec: ${message}\n`);
  process.exit(2);
}

function parseFlags(argv) {
  const opts = { iterations: 30, warmup: 3, json: undefined, berth: join(REPO, 'bin/berth-runtime') };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i] ?? fail(`${name} needs a value\n${USAGE}`);
    const count = (min) => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) fail(`${name}: "${v}" is not an integer >= ${min}`);
      return n;
    };
    if (name === '--iterations' || name === '-n') opts.iterations = count(1);
    else if (name === '--warmup') opts.warmup = count(0);
    else if (name === '--json') opts.json = resolve(value());
    else if (name === '--berth') opts.berth = resolve(value());
    else if (name === '--help' || name === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else fail(`unknown flag "${argv[i]}"\n${USAGE}`);
  }
  return opts;
}

const opts = parseFlags(process.argv.slice(2));
if (process.getuid?.() !== 0) fail('needs root (it creates namespaces and cgroups)');
const runcPath = commandPath('runc') ?? fail('runc is not installed (apt-get install runc)');
if (!commandPath('busybox')) fail('busybox is not installed (apt-get install busybox-static)');
if (!existsSync(opts.berth) || spawnSync(opts.berth, ['--version'], { stdio: 'ignore', env: cleanEnv() }).status !== 0) {
  fail(`\`${opts.berth} --version\` does not work: run \`npm run build\` first`);
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => (interrupted = true));

const work = mkdtempSync(join(tmpdir(), 'berth-bench-exec-'));
const bundle = join(work, 'bundle');
const runner = new CommandRunner(join(work, 'stderr.log'));
const id = `bexec-${process.pid}`;
const runtimes = [
  { key: 'berth', name: 'berth-runtime', file: opts.berth, root: join(work, 'berth-root'), started: false },
  { key: 'runc', name: 'runc', file: runcPath, root: join(work, 'runc-root'), started: false },
];
const samples = new Map(runtimes.map((rt) => [rt.key, []]));
const failures = new Map(runtimes.map((rt) => [rt.key, []]));

/** create + start, as a shim does; returns the container's init pid and start time. */
function startContainer(rt) {
  const pidFile = join(work, `${rt.key}.pid`);
  rt.started = true;
  runner.time(rt.file, ['--root', rt.root, 'create', '--bundle', bundle, '--pid-file', pidFile, id]);
  runner.time(rt.file, ['--root', rt.root, 'start', id]);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const stat = procStat(pid);
  if (!stat) throw new Error(`${rt.name}: the container's init (${pid}) is not running after start`);
  return { pid, startTime: stat.startTime };
}

function stillRunning(init) {
  const s = procStat(init.pid);
  return s !== undefined && s.startTime === init.startTime && s.state !== 'Z' && s.state !== 'X';
}

function cleanup() {
  for (const rt of runtimes) {
    if (!rt.started) continue;
    const g = ['--root', rt.root];
    spawnSync(rt.file, [...g, 'kill', id, 'KILL'], { stdio: 'ignore', env: cleanEnv() });
    spawnSync(rt.file, [...g, 'delete', '--force', id], { stdio: 'ignore', env: cleanEnv() });
  }
  runner.close();
  rmSync(work, { recursive: true, force: true });
}

let machine;
try {
  const made = spawnSync(join(REPO, 'scripts/make-busybox-bundle.sh'), [bundle, 'sleep', '100000'], { stdio: ['ignore', 'ignore', 'inherit'], env: cleanEnv() });
  if (made.status !== 0) throw new Error('scripts/make-busybox-bundle.sh failed');
  const inits = new Map(runtimes.map((rt) => [rt.key, startContainer(rt)]));
  machine = {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
    os: readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? 'unknown OS',
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: firstLine('node', ['--version']),
    runc: firstLine(runcPath, ['--version']),
    berth: firstLine(opts.berth, ['--version']),
  };
  const total = opts.warmup + opts.iterations;
  process.stderr.write(`exec: ${opts.warmup} warm-up + ${opts.iterations} measured iterations\n`);
  for (let i = 0; i < total; i++) {
    // Alternate which runtime goes first, so that neither always follows the other.
    for (let k = 0; k < runtimes.length; k++) {
      // Everything else here is synchronous: this lets a SIGINT/SIGTERM handler run.
      await new Promise((r) => setImmediate(r));
      if (interrupted) throw new Error('interrupted');
      const rt = runtimes[(i + k) % runtimes.length];
      try {
        const t = runner.time(rt.file, ['--root', rt.root, 'exec', id, 'true']);
        if (i >= opts.warmup) samples.get(rt.key).push(t);
      } catch (err) {
        if (interrupted || err.signal === 'SIGINT' || err.signal === 'SIGTERM') throw err;
        failures.get(rt.key).push(err.message);
        process.stderr.write(`exec: ${rt.name} exec failed: ${err.message}\n`);
        if (failures.get(rt.key).length * 2 > i + 1 && i >= 3) throw new Error(`${rt.name} exec fails more often than not; stopping`);
      }
      if (!stillRunning(inits.get(rt.key))) throw new Error(`${rt.name}: the container's init exited during the benchmark`);
    }
    if (process.stderr.isTTY) process.stderr.write(`\r  iteration ${i + 1}/${total}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
} catch (err) {
  cleanup();
  fail(err.message);
}
cleanup();
report();

function report() {
  const b = summarize(samples.get('berth'));
  const r = summarize(samples.get('runc'));
  const out = [];
  out.push(`# exec — ${new Date().toISOString()}`);
  out.push(`machine: ${machine.cpus}; ${machine.os}; kernel ${machine.kernel}; node ${machine.node}`);
  out.push(`runtimes: ${machine.berth} (${opts.berth}); ${machine.runc} (${runcPath})`);
  out.push(`iterations: ${opts.iterations} measured after ${opts.warmup} warm-up, runtimes alternating; one busybox \`sleep\` container per runtime, own --root each`);
  out.push('command: <runtime> --root R exec <id> true, foreground until it exits 0; run without NODE_EXTRA_CA_CERTS');
  out.push('');
  out.push(
    formatTable(
      ['command', 'median ms', 'p90 ms', 'min ms', 'max ms', 'ratio vs runc (median)', 'ratio vs runc (p90)'],
      [
        ['berth-runtime exec … true', ms(b.median), ms(b.p90), ms(b.min), ms(b.max), ratio(b.median, r.median), ratio(b.p90, r.p90)],
        ['runc exec … true', ms(r.median), ms(r.p90), ms(r.min), ms(r.max), '—', '—'],
      ],
    ),
  );
  const failed = [...failures].filter(([, m]) => m.length);
  if (failed.length) {
    out.push('');
    out.push('FAILURES (excluded from the figures above):');
    for (const [key, messages] of failed) out.push(`  ${key}: ${messages.length}; first: ${messages[0].split('\n').join(' / ')}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (opts.json) {
    const results = Object.fromEntries([...samples].map(([k, v]) => [k, { ...summarize(v), samples: v }]));
    writeFileSync(opts.json, `${JSON.stringify({ date: new Date().toISOString(), machine, options: opts, results, failures: Object.fromEntries(failed) }, null, 2)}\n`);
  }
}
