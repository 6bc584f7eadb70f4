#!/usr/bin/env node
// Container lifecycle: berth-runtime against runc on the same busybox bundle, in the same run,
// interleaved. Measures what a caller such as containerd's runc shim experiences:
//   lifecycle = create (--pid-file) + start + wait for init to exit + delete, each a separate
//               command; the wait watches /proc/<pid>/stat (the shim is told by SIGCHLD and
//               spawns nothing to learn of the exit, so neither does this benchmark)
//   run       = `run` in the foreground until it exits with the container's status (0)
//   node -e 0 = Node's start-up floor, which every berth-runtime command pays
// Usage: node bench/runtime-lifecycle.mjs [--iterations N] [--warmup N] [--breakdown] [--json FILE] [--berth FILE]
// Needs root, runc, and a built berth (npm run build). See bench/README.md.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandRunner, cleanEnv } from './lib/timed-spawn.mjs';
import { commandPath, firstLine } from './lib/host-tools.mjs';
import { procStat, waitForExit } from './lib/proc-wait.mjs';
import { formatTable, ms, ratio, summarize } from './lib/stats.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_BERTH = join(REPO, 'bin/berth-runtime');
// The entry bundle, run by plain `node` for the start-up floor (absent: that floor is skipped).
const BERTH_MAIN = ['dist/berth-runtime.mjs', 'dist/berth-runtime.cjs'].map((f) => join(REPO, f)).find((f) => existsSync(f));

const USAGE = `usage: node bench/runtime-lifecycle.mjs [--iterations N] [--warmup N] [--breakdown] [--json FILE] [--berth FILE]
  --iterations N  measured iterations of every variant (default 30)
  --warmup N      unmeasured iterations first (default 3)
  --breakdown     also time each subcommand (create, state, start, delete) and the start-up floors
  --json FILE     also write every sample and summary to FILE
  --berth FILE    the berth-runtime executable to measure (default bin/berth-runtime), e.g. a
                  wrapper around an experimental build`;

function parseFlags(argv) {
  const opts = { iterations: 30, warmup: 3, breakdown: false, json: undefined, berth: DEFAULT_BERTH };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split('=', 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${name} needs a value\n${USAGE}`);
      return v;
    };
    const count = (min) => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) fail(`${name}: "${v}" is not an integer >= ${min}`);
      return n;
    };
    if (name === '--iterations' || name === '-n') opts.iterations = count(1);
    else if (name === '--warmup') opts.warmup = count(0);
    else if (name === '--breakdown') opts.breakdown = true;
    else if (name === '--json') opts.json = resolve(value());
    else if (name === '--berth') opts.berth = resolve(value());
    else if (name === '--help' || name === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else fail(`unknown flag "${argv[i]}"\n${USAGE}`);
  }
  return opts;
}

function fail(message) {
  process.stderr.write(`runtime-lifecycle: ${message}\n`);
  process.exit(2);
}

function machineDescription() {
  const osRelease = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? 'unknown OS';
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
    os: osRelease,
    kernel,
    node: firstLine('node', ['--version']),
    runc: firstLine('runc', ['--version']),
    berth: firstLine(BERTH, ['--version']),
  };
}

/** A sample of named durations (ms) per variant, across iterations. */
class Samples {
  constructor() {
    this.byKey = new Map();
  }
  add(key, value) {
    if (!this.byKey.has(key)) this.byKey.set(key, []);
    this.byKey.get(key).push(value);
  }
  summary(key) {
    const v = this.byKey.get(key);
    return v ? summarize(v) : { n: 0, median: NaN, p90: NaN, min: NaN, max: NaN };
  }
  toJSON() {
    return Object.fromEntries([...this.byKey].map(([k, v]) => [k, { ...summarize(v), samples: v }]));
  }
}

const opts = parseFlags(process.argv.slice(2));
const BERTH = opts.berth;
if (process.getuid?.() !== 0) fail('needs root (it creates namespaces and cgroups)');
const runcPath = commandPath('runc');
if (!runcPath) fail('runc is not installed (apt-get install runc)');
if (!commandPath('busybox')) fail('busybox is not installed (apt-get install busybox-static)');
if (!existsSync(BERTH)) fail(`${BERTH} does not exist`);
if (spawnSync(BERTH, ['--version'], { stdio: 'ignore', env: cleanEnv() }).status !== 0) {
  fail(`\`${BERTH} --version\` does not work${BERTH === DEFAULT_BERTH ? ': run `npm run build` first' : ''}`);
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => (interrupted = true));

const work = mkdtempSync(join(tmpdir(), 'berth-bench-lifecycle-'));
const bundle = join(work, 'bundle');
const pidDir = join(work, 'pids');
mkdirSync(pidDir);
const runtimes = {
  berth: { name: 'berth-runtime', file: BERTH, root: join(work, 'berth-root') },
  runc: { name: 'runc', file: runcPath, root: join(work, 'runc-root') },
};
const live = new Set(); // `${runtime}\0${id}` of containers not yet deleted, for clean-up
const runner = new CommandRunner(join(work, 'stderr.log'));
const samples = new Samples();

function checkInterrupt() {
  if (interrupted) throw new Error('interrupted');
}

/** create, start, wait for exit, delete: one container's life as a shim drives it. */
function lifecycle(key, id, record) {
  const rt = runtimes[key];
  const g = ['--root', rt.root];
  const pidFile = join(pidDir, id);
  live.add(`${key}\0${id}`);
  const t = {};
  t.create = runner.time(rt.file, [...g, 'create', '--bundle', bundle, '--pid-file', pidFile, id]);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const stat = procStat(pid);
  if (!stat) throw new Error(`${rt.name} create: init ${pid} from the pid file is not running`);
  if (opts.breakdown) {
    t.stateCreated = runner.time(rt.file, [...g, 'state', id]);
    // signal 0: delivered to the created init without changing it (what a shim's liveness probe sends)
    t.kill = runner.time(rt.file, [...g, 'kill', id, '0']);
  }
  t.start = runner.time(rt.file, [...g, 'start', id]);
  const w0 = process.hrtime.bigint();
  waitForExit(pid, stat.startTime);
  t.wait = Number(process.hrtime.bigint() - w0) / 1e6;
  if (opts.breakdown) t.stateStopped = runner.time(rt.file, [...g, 'state', id]);
  t.delete = runner.time(rt.file, [...g, 'delete', id]);
  live.delete(`${key}\0${id}`);
  t.lifecycle = t.create + t.start + t.wait + t.delete;
  if (record) for (const [k, v] of Object.entries(t)) samples.add(`${key}.${k}`, v);
}

function run(key, id, record) {
  const rt = runtimes[key];
  live.add(`${key}\0${id}`);
  const t = runner.time(rt.file, ['--root', rt.root, 'run', '--bundle', bundle, id]);
  live.delete(`${key}\0${id}`);
  if (record) samples.add(`${key}.run`, t);
}

function floor(key, file, args, env) {
  return (record) => {
    const t = runner.time(file, args, env ? { env } : {});
    if (record) samples.add(key, t);
  };
}

const variants = [
  { name: 'berth-lifecycle', go: (id, rec) => lifecycle('berth', id, rec) },
  { name: 'runc-lifecycle', go: (id, rec) => lifecycle('runc', id, rec) },
  { name: 'berth-run', go: (id, rec) => run('berth', id, rec) },
  { name: 'runc-run', go: (id, rec) => run('runc', id, rec) },
  { name: 'node', go: (_id, rec) => floor('node.e0', 'node', ['-e', '0'])(rec) },
];
const caCerts = process.env.NODE_EXTRA_CA_CERTS;
if (opts.breakdown) {
  variants.push(
    ...(BERTH_MAIN ? [{ name: 'berth-main', go: (_id, rec) => floor('floor.berthMainVersion', 'node', [BERTH_MAIN, '--version'])(rec) }] : []),
    { name: 'berth-wrapper', go: (_id, rec) => floor('floor.berthWrapperVersion', BERTH, ['--version'])(rec) },
    { name: 'runc-version', go: (_id, rec) => floor('floor.runcVersion', runcPath, ['--version'])(rec) },
  );
  if (caCerts) {
    variants.push({ name: 'node-ca', go: (_id, rec) => floor('floor.nodeWithCaCerts', 'node', ['-e', '0'], { ...cleanEnv(), NODE_EXTRA_CA_CERTS: caCerts })(rec) });
  }
}

// A failed command is counted and reported, not fatal: an intermittent failure is a finding
// in itself. A variant that fails more often than not is broken, and the run stops.
const failures = new Map(); // variant name -> error messages
const attempts = new Map();

function attempt(v, id, record) {
  attempts.set(v.name, (attempts.get(v.name) ?? 0) + 1);
  try {
    v.go(id, record);
  } catch (err) {
    // Ctrl-C reaches the command too: its death by SIGINT is the interruption, not a failure.
    if (interrupted || err.signal === 'SIGINT' || err.signal === 'SIGTERM') throw err;
    if (!failures.has(v.name)) failures.set(v.name, []);
    failures.get(v.name).push(err.message);
    process.stderr.write(`runtime-lifecycle: ${v.name} failed (${id}): ${err.message}\n`);
    for (const key of Object.keys(runtimes)) deleteQuietly(key, id);
    const n = attempts.get(v.name);
    if (n >= 4 && failures.get(v.name).length * 2 > n) throw new Error(`${v.name} fails more often than not; stopping`);
  }
}

function deleteQuietly(key, id) {
  if (!live.delete(`${key}\0${id}`)) return;
  spawnSync(runtimes[key].file, ['--root', runtimes[key].root, 'delete', '--force', id], { stdio: 'ignore', env: cleanEnv() });
}

function cleanup() {
  for (const entry of [...live]) {
    const [key, id] = entry.split('\0');
    deleteQuietly(key, id);
  }
  runner.close();
  rmSync(work, { recursive: true, force: true });
}

let machine;
try {
  execFileSync(join(REPO, 'scripts/make-busybox-bundle.sh'), [bundle, 'true'], { stdio: ['ignore', 'ignore', 'inherit'], env: cleanEnv() });
  machine = machineDescription();
  const total = opts.warmup + opts.iterations;
  process.stderr.write(`runtime-lifecycle: ${opts.warmup} warm-up + ${opts.iterations} measured iterations of ${variants.length} variants\n`);
  for (let i = 0; i < total; i++) {
    const record = i >= opts.warmup;
    // Rotate the order every iteration so that no variant always follows the same one.
    for (let k = 0; k < variants.length; k++) {
      // Everything else here is synchronous: this lets a SIGINT/SIGTERM handler run.
      await new Promise((r) => setImmediate(r));
      checkInterrupt();
      const v = variants[(i + k) % variants.length];
      attempt(v, `blc-${process.pid}-${i}-${v.name}`, record);
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
  const s = (k) => samples.summary(k);
  const out = [];
  out.push(`# runtime-lifecycle — ${new Date().toISOString()}`);
  out.push(`machine: ${machine.cpus}; ${machine.os}; kernel ${machine.kernel}; node ${machine.node}`);
  out.push(`runtimes: ${machine.berth} (${BERTH}); ${machine.runc} (${runcPath})`);
  out.push(`iterations: ${opts.iterations} measured after ${opts.warmup} warm-up, variants interleaved in rotating order`);
  out.push(
    `environment: every command runs without NODE_EXTRA_CA_CERTS${caCerts ? ` (set in this shell to ${caCerts}; it makes every Node start-up read that CA bundle)` : ''}`,
  );
  out.push('lifecycle = create --pid-file + start + wait for init to exit (/proc polling) + delete; run = foreground `run`, exit 0');
  out.push('');
  const row = (label, key, vs) => {
    const a = s(key);
    const b = vs ? s(vs) : undefined;
    return [label, ms(a.median), ms(a.p90), b ? ratio(a.median, b.median) : '—', b ? ratio(a.p90, b.p90) : '—'];
  };
  out.push(
    formatTable(
      ['command', 'median ms', 'p90 ms', 'ratio vs runc (median)', 'ratio vs runc (p90)'],
      [
        row('berth-runtime create, start, exit, delete', 'berth.lifecycle', 'runc.lifecycle'),
        row('runc create, start, exit, delete', 'runc.lifecycle'),
        row('berth-runtime run', 'berth.run', 'runc.run'),
        row('runc run', 'runc.run'),
        row('node -e 0', 'node.e0'),
      ],
    ),
  );
  if (opts.breakdown) {
    const nodeFloor = s('node.e0').median;
    const step = (label, k) => {
      const b = s(`berth.${k}`);
      const r = s(`runc.${k}`);
      return [label, ms(b.median), ms(b.p90), ms(r.median), ms(r.p90), ratio(b.median, r.median), ms(b.median - r.median), ms(b.median - nodeFloor)];
    };
    out.push('');
    out.push('breakdown (each subcommand timed on its own; lifecycle above excludes the two `state` calls and `kill`):');
    out.push('');
    out.push(
      formatTable(
        ['step', 'berth median', 'berth p90', 'runc median', 'runc p90', 'ratio', 'berth − runc', 'berth − node -e 0'],
        [
          step('create', 'create'),
          step('state (created)', 'stateCreated'),
          step('kill (created, signal 0)', 'kill'),
          step('start', 'start'),
          step('wait for exit', 'wait'),
          step('state (stopped)', 'stateStopped'),
          step('delete', 'delete'),
          step('lifecycle', 'lifecycle'),
          step('run', 'run'),
        ],
      ),
    );
    const f = (label, k) => {
      const a = s(k);
      return [label, ms(a.median), ms(a.p90), ms(a.median - nodeFloor)];
    };
    out.push('');
    out.push('start-up floors:');
    out.push('');
    out.push(
      formatTable(
        ['command', 'median ms', 'p90 ms', '− node -e 0'],
        [
          f('node -e 0', 'node.e0'),
          ...(caCerts ? [f('node -e 0 with NODE_EXTRA_CA_CERTS', 'floor.nodeWithCaCerts')] : []),
          ...(BERTH_MAIN ? [f(`node ${relative(REPO, BERTH_MAIN)} --version`, 'floor.berthMainVersion')] : []),
          f(`${BERTH === DEFAULT_BERTH ? 'bin/berth-runtime' : BERTH} --version`, 'floor.berthWrapperVersion'),
          f('runc --version', 'floor.runcVersion'),
        ],
      ),
    );
  }
  if (failures.size) {
    out.push('');
    out.push('FAILURES (excluded from the figures above):');
    for (const [name, messages] of failures) {
      out.push(`  ${name}: ${messages.length} of ${attempts.get(name)} attempts; first: ${messages[0].split('\n').join(' / ')}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (opts.json) {
    const failed = Object.fromEntries([...failures].map(([k, v]) => [k, { attempts: attempts.get(k), messages: v }]));
    writeFileSync(opts.json, `${JSON.stringify({ date: new Date().toISOString(), machine, options: opts, results: samples.toJSON(), failures: failed }, null, 2)}\n`);
  }
}
