// berth-runtime's native front (native/front.c, docs/fast-path.md): every command it answers
// prints and does what the Node CLI does, and everything it can't answer reaches Node.
// BERTH_RUNTIME_FRONT=native makes the front exit 120 instead of starting Node, =node skips it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, type TestBundle } from '../../support/bundle.ts';
import { leftovers, repoRoot, runCli, RuntimeCli, type RunResult } from '../../support/cli.ts';
import { processAlive } from '../../../src/sys/proc.ts';
import { decodeFields, encodeFields } from '../../../src/runtime/fast-path.ts';

const NATIVE = { BERTH_RUNTIME_FRONT: 'native' };
const NODE = { BERTH_RUNTIME_FRONT: 'node' };
const FELL_THROUGH = 120;
const prefix = `front-${process.pid}`;

let rt: RuntimeCli;
let sleeper: TestBundle;
let annotated: TestBundle;

before(() => {
  rt = new RuntimeCli();
  sleeper = makeBundle(['sleep', '60']);
  annotated = makeBundle(['sleep', '60'], (s) => (s.annotations = { 'org.example/quote': 'a "quoted" ✓ value\nwith a newline', empty: '' }));
});
after(() => {
  rt.cleanup();
  sleeper.cleanup();
  annotated.cleanup();
});

function native(args: string[]): RunResult {
  return rt.run(args, { env: NATIVE });
}

/** Runs args through the front alone and through Node alone: both must print the same. */
function same(args: string[]): RunResult {
  const a = native(args);
  assert.equal(a.code, 0, `the front answers ${args.join(' ')} itself: ${a.stderr}`);
  const b = rt.run(args, { env: NODE });
  assert.deepEqual(a, b, `front and Node differ on ${args.join(' ')}`);
  return a;
}

/** Asserts that the front leaves args to Node (having done nothing), then runs them as usual. */
function fallsThrough(args: string[], opts: { expectCode?: number } = {}): RunResult {
  const a = native(args);
  assert.equal(a.code, FELL_THROUGH, `expected ${args.join(' ')} to go to Node; got ${a.code}: ${a.stdout}${a.stderr}`);
  assert.match(a.stderr, /^berth-runtime: front: would run Node: /);
  const r = rt.run(args);
  if (opts.expectCode !== undefined) assert.equal(r.code, opts.expectCode, r.stderr);
  return r;
}

const stateOf = (id: string) => JSON.parse(rt.ok(['state', id])) as { status: string; pid: number };

test('state, list (table, json, -q) print the same from the front as from Node, in every status', () => {
  const a = `${prefix}-a`;
  const b = `${prefix}-b`;
  const c = `${prefix}-c`;
  rt.ok(['create', '--bundle', sleeper.dir, a]);
  rt.ok(['create', '--bundle', annotated.dir, b]);
  rt.ok(['run', '-d', '--bundle', sleeper.dir, c]);
  try {
    rt.ok(['kill', c, 'KILL']);
    for (let i = 0; i < 500 && stateOf(c).status !== 'stopped'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    assert.equal(JSON.parse(same(['state', a]).stdout).status, 'created');
    assert.equal(JSON.parse(same(['state', b]).stdout).annotations['org.example/quote'], 'a "quoted" ✓ value\nwith a newline');
    assert.equal(JSON.parse(same(['state', c]).stdout).status, 'stopped');
    rt.ok(['start', b]);
    assert.equal(JSON.parse(same(['state', b]).stdout).status, 'running');
    const table = same(['list']).stdout;
    assert.match(table, new RegExp(`^${a}\\s+\\d+\\s+created\\s+${sleeper.dir}\\s`, 'm'));
    assert.match(table, new RegExp(`^${c}\\s+0\\s+stopped\\s`, 'm'));
    assert.deepEqual(JSON.parse(same(['list', '--format', 'json']).stdout).map((s: { status: string }) => s.status), ['created', 'running', 'stopped']);
    assert.equal(same(['list', '-q']).stdout, `${a}\n${b}\n${c}\n`);
    same(['list', '-f', 'table']);
    same(['list', '--format=json', '--quiet']);
    // runc's global flags as podman and containerd pass them
    same(['--log', join(rt.root, 'log.json'), '--log-format', 'json', 'state', a]);
    same(['--debug', '--rootless=false', '--systemd-cgroup=false', 'list']);
  } finally {
    for (const id of [a, b, c]) rt.ok(['delete', '-f', id]);
  }
});

test('an empty or missing state root lists nothing, from the front', () => {
  const empty = mkdtempSync(join(tmpdir(), 'berth-test-front-root-'));
  try {
    for (const root of [empty, join(empty, 'missing')]) {
      for (const args of [['list'], ['list', '--format', 'json'], ['list', '-q']]) {
        const a = rt.run(['--root', root, ...args], { env: NATIVE });
        const b = rt.run(['--root', root, ...args], { env: NODE });
        assert.equal(a.code, 0, a.stderr);
        assert.deepEqual(a, b);
      }
    }
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('start, kill and delete from the front do what Node does and leave nothing behind', () => {
  const id = `${prefix}-life`;
  const pidFile = join(sleeper.dir, 'front-pid');
  rt.ok(['create', '--bundle', sleeper.dir, '--pid-file', pidFile, id]);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  assert.equal(native(['start', id]).code, 0);
  assert.equal(stateOf(id).status, 'running');
  assert.ok(!existsSync(join(rt.root, id, 'exec.fifo')));
  assert.equal(native(['kill', id, '9']).code, 0);
  for (let i = 0; i < 500 && processAlive(pid); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  assert.equal(stateOf(id).status, 'stopped');
  const r = native(['delete', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout + r.stderr, '');
  assert.deepEqual(leftovers(sleeper.rootfs, join(rt.root, id), id), []);
});

test('delete --force from the front kills a running or created container first', () => {
  for (const how of ['run', 'create'] as const) {
    const id = `${prefix}-force-${how}`;
    rt.ok(how === 'run' ? ['run', '-d', '--bundle', sleeper.dir, id] : ['create', '--bundle', sleeper.dir, id]);
    const { pid } = stateOf(id);
    const r = native(['delete', '--force', id]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!processAlive(pid));
    assert.deepEqual(leftovers(sleeper.rootfs, join(rt.root, id), id), []);
  }
});

test('errors are left to Node, which prints them as before', () => {
  const id = `${prefix}-err`;
  rt.ok(['run', '-d', '--bundle', sleeper.dir, id]);
  try {
    let r = fallsThrough(['delete', id]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot delete container ".*" that is running: stop it first or use --force/);
    r = fallsThrough(['start', id]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /it is running, not created/);
    r = fallsThrough(['state', `${prefix}-nope`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /does not exist/);
    assert.equal(fallsThrough(['delete', '-f', `${prefix}-nope`], { expectCode: 0 }).code, 0);
    fallsThrough(['state', 'bad/id']);
    fallsThrough(['kill', id, 'NOSUCHSIGNAL']);
    fallsThrough(['list', '--format', 'yaml']);
  } finally {
    rt.ok(['delete', '-f', id]);
  }
});

test('what the front does not take goes to Node: names of signals, --all, flags, help, --systemd-cgroup', () => {
  const id = `${prefix}-flags`;
  rt.ok(['run', '-d', '--bundle', sleeper.dir, id]);
  try {
    assert.equal(fallsThrough(['kill', id, 'SIGCONT'], { expectCode: 0 }).code, 0);
    assert.equal(fallsThrough(['kill', '--all', id, '18'], { expectCode: 0 }).code, 0);
    assert.match(fallsThrough(['state', '--help', id], { expectCode: 0 }).stdout, /^usage: berth-runtime state/);
    assert.match(fallsThrough(['--version']).stdout, /^berth-runtime version/);
    fallsThrough(['--systemd-cgroup', 'state', id]);
    fallsThrough(['--log-format', 'xml', 'state', id]);
    fallsThrough(['--unknown-flag', 'state', id]);
    fallsThrough(['state', id, 'extra']);
    fallsThrough(['state', '--', id]);
    fallsThrough(['--root', join(rt.root, '..', 'x'), 'state', id]);
    fallsThrough(['-qf', 'json', 'list']);
    fallsThrough(['list', '-qfjson']);
    assert.equal(fallsThrough(['ps', id], { expectCode: 0 }).code, 0);
    assert.equal(stateOf(id).status, 'running');
  } finally {
    rt.ok(['delete', '-f', id]);
  }
});

test('a state directory without fast-path data (an older berth) is left to Node, and works', () => {
  const id = `${prefix}-old`;
  rt.ok(['create', '--bundle', sleeper.dir, id]);
  unlinkSync(join(rt.root, id, 'fast-path.v1'));
  fallsThrough(['state', id], { expectCode: 0 });
  fallsThrough(['list'], { expectCode: 0 });
  assert.equal(fallsThrough(['start', id], { expectCode: 0 }).code, 0);
  assert.equal(stateOf(id).status, 'running');
  assert.equal(fallsThrough(['delete', '-f', id], { expectCode: 0 }).code, 0);
  assert.deepEqual(leftovers(sleeper.rootfs, join(rt.root, id), id), []);
});

test('the front checks the start time: a reused pid is not the container', () => {
  const id = `${prefix}-reuse`;
  rt.ok(['run', '-d', '--bundle', sleeper.dir, id]);
  try {
    const file = join(rt.root, id, 'fast-path.v1');
    const fields = decodeFields(readFileSync(file));
    const realPid = stateOf(id).pid;
    const withPid = (pid: number) => writeFileSync(file, encodeFields(fields.map(([k, v]) => [k, k === 'pid' ? String(pid) : v] as const)));
    withPid(process.pid); // alive, but started at another time than the container's init
    const r = native(['state', id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status, 'stopped');
    withPid(realPid);
    assert.equal(JSON.parse(same(['state', id]).stdout).status, 'running');
  } finally {
    rt.ok(['delete', '-f', id]);
  }
});

test('a state.json changed behind the front (another berth, a person) is left to Node', () => {
  const id = `${prefix}-edited`;
  rt.ok(['run', '-d', '--bundle', sleeper.dir, id]);
  try {
    const file = join(rt.root, id, 'state.json');
    const record = JSON.parse(readFileSync(file, 'utf8'));
    record.pid = process.pid; // alive, but not the container's init: Node says stopped
    writeFileSync(file, JSON.stringify(record));
    assert.equal(JSON.parse(fallsThrough(['state', id], { expectCode: 0 }).stdout).status, 'stopped');
  } finally {
    rt.ok(['delete', '-f', id]);
  }
});

test('hooks are Node\'s: start with poststart and delete with poststop hooks fall through and run them', () => {
  const marks = mkdtempSync(join(tmpdir(), 'berth-test-front-hooks-'));
  const hook = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${join(marks, name)}`] });
  const b = makeBundle(['sleep', '60'], (s) => (s.hooks = { poststart: [hook('poststart')], poststop: [hook('poststop')] }));
  const id = `${prefix}-hooks`;
  try {
    rt.ok(['create', '--bundle', b.dir, id]);
    same(['state', id]);
    assert.equal(fallsThrough(['start', id], { expectCode: 0 }).code, 0);
    assert.equal(JSON.parse(readFileSync(join(marks, 'poststart'), 'utf8')).status, 'running');
    assert.equal(fallsThrough(['delete', '-f', id], { expectCode: 0 }).code, 0);
    assert.equal(JSON.parse(readFileSync(join(marks, 'poststop'), 'utf8')).status, 'stopped');
  } finally {
    rt.run(['delete', '-f', id]);
    b.cleanup();
    rmSync(marks, { recursive: true, force: true });
  }
});

test('a paused container is Node\'s until it is resumed', () => {
  const id = `${prefix}-paused`;
  rt.ok(['run', '-d', '--bundle', sleeper.dir, id]);
  try {
    rt.ok(['pause', id]);
    assert.equal(JSON.parse(fallsThrough(['state', id], { expectCode: 0 }).stdout).status, 'paused');
    fallsThrough(['list'], { expectCode: 0 });
    rt.ok(['resume', id]);
    assert.equal(JSON.parse(same(['state', id]).stdout).status, 'running');
  } finally {
    rt.ok(['delete', '-f', id]);
  }
});

test('a bundle path that is not ASCII: the table is Node\'s, the JSON the front\'s', () => {
  const b = makeBundle(['sleep', '60']);
  const dir = join(tmpdir(), `berth-test-bündle-${process.pid}`);
  renameSync(b.dir, dir);
  const id = `${prefix}-utf8`;
  try {
    rt.ok(['create', '--bundle', dir, id]);
    assert.equal(JSON.parse(same(['state', id]).stdout).bundle, dir);
    same(['list', '--format', 'json']);
    assert.match(fallsThrough(['list'], { expectCode: 0 }).stdout, /bündle/);
  } finally {
    rt.run(['delete', '-f', id]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('berth-spawn started by the front while Node boots: exit statuses of run and exec; Node alone still works', () => {
  const b = makeBundle(['sh', '-c', 'exit 7']);
  const cjs = join(repoRoot, 'dist/berth-runtime.cjs');
  const spawnBin = { BERTH_SPAWN: join(repoRoot, 'native/build/berth-spawn') };
  try {
    assert.equal(rt.run(['run', '--bundle', b.dir, `${prefix}-st1`]).code, 7, 'through the front');
    assert.equal(runCli('node', [cjs, '--root', rt.root, 'run', '--bundle', b.dir, `${prefix}-st2`], { env: spawnBin }).code, 7, 'Node spawning it');
    const bogus = runCli('node', [cjs, '--root', rt.root, 'run', '--bundle', b.dir, `${prefix}-st3`], { env: { ...spawnBin, BERTH_SPAWN_CHANNEL: '99 1' } });
    assert.equal(bogus.code, 7, `a channel that is not there: Node spawns its own (${bogus.stderr})`);
    const id = `${prefix}-ex`;
    rt.ok(['run', '-d', '--bundle', sleeper.dir, id]);
    try {
      const r = rt.run(['exec', id, 'sh', '-c', 'echo out; exit 3']);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, 'out\n');
    } finally {
      rt.ok(['delete', '-f', id]);
    }
  } finally {
    b.cleanup();
  }
});

test('start returns once the container runs its program, from the front and from Node (as runc)', () => {
  for (const env of [NATIVE, NODE]) {
    const id = `${prefix}-exec-${env.BERTH_RUNTIME_FRONT}`;
    rt.ok(['create', '--bundle', sleeper.dir, id]);
    try {
      const { pid } = stateOf(id);
      const r = rt.run(['start', id], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^sleep\0 ?60/);
    } finally {
      rt.ok(['delete', '-f', id]);
    }
  }
});
