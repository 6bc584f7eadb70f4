// create / start / state / kill / delete / list / run, on the real kernel.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { processAlive } from '../../../src/sys/proc.ts';
import { join } from 'node:path';
import { makeBundle, type TestBundle } from '../../support/bundle.ts';
import { leftovers, RuntimeCli } from '../../support/cli.ts';

let rt: RuntimeCli;
let sleeper: TestBundle;

before(() => {
  rt = new RuntimeCli();
  sleeper = makeBundle(['sleep', '60']);
});
after(() => {
  rt.cleanup();
  sleeper.cleanup();
});

const status = (id: string): string => JSON.parse(rt.ok(['state', id])).status;

test('run returns the container exit status and shows its output', () => {
  const b = makeBundle(['sh', '-c', 'echo out; echo err >&2; exit 7']);
  try {
    const r = rt.run(['run', 'exit7'], { cwd: b.dir });
    assert.equal(r.code, 7);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.deepEqual(leftovers(b.rootfs, join(rt.root, 'exit7')), [], 'run deletes the container');
  } finally {
    b.cleanup();
  }
});

test('run: a container killed by a signal exits 128+signal', () => {
  // Not pid 1 of a pid namespace: the kernel ignores SIGKILL sent to a namespace's init from inside.
  const b = makeBundle(['sh', '-c', 'kill -9 $$'], (s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid')));
  try {
    assert.equal(rt.run(['run', '--bundle', b.dir, 'sig']).code, 137);
  } finally {
    b.cleanup();
  }
});

test('create -> created, start -> running, kill -> stopped, delete removes everything', () => {
  const pidFile = join(sleeper.dir, 'pid');
  rt.ok(['create', '--bundle', sleeper.dir, '--pid-file', pidFile, 'life']);
  const state = JSON.parse(rt.ok(['state', 'life']));
  assert.equal(state.status, 'created');
  assert.equal(state.id, 'life');
  assert.equal(state.bundle, sleeper.dir);
  assert.equal(Number(readFileSync(pidFile, 'utf8')), state.pid);
  // init waits in berth-spawn, not yet the container's program
  assert.notEqual(readlinkSync(`/proc/${state.pid}/exe`), join(sleeper.rootfs, 'bin/busybox'));
  assert.equal(statSync(`/proc/${state.pid}/root/bin/busybox`).ino, statSync(join(sleeper.rootfs, 'bin/busybox')).ino);

  rt.ok(['start', 'life']);
  assert.equal(status('life'), 'running');
  assert.match(readFileSync(`/proc/${state.pid}/cmdline`, 'utf8'), /^sleep\0 ?60/);
  assert.notEqual(rt.run(['start', 'life']).code, 0, 'a running container cannot be started again');

  const refused = rt.run(['delete', 'life']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /running.*--force/);

  rt.ok(['kill', 'life', 'KILL']);
  for (let i = 0; i < 100 && status('life') !== 'stopped'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  assert.equal(status('life'), 'stopped');
  assert.notEqual(rt.run(['kill', 'life']).code, 0, 'kill of a stopped container fails');
  rt.ok(['delete', 'life']);
  assert.deepEqual(leftovers(sleeper.rootfs, join(rt.root, 'life')), []);
  assert.notEqual(rt.run(['state', 'life']).code, 0);
});

test('delete --force kills a running container; kill takes signal numbers', () => {
  rt.ok(['run', '--detach', '--bundle', sleeper.dir, 'forced']);
  assert.equal(status('forced'), 'running');
  rt.ok(['kill', 'forced', '0']);
  rt.ok(['delete', '--force', 'forced']);
  assert.deepEqual(leftovers(sleeper.rootfs, join(rt.root, 'forced')), []);
  assert.equal(rt.run(['delete', '--force', 'forced']).code, 0, 'delete --force of a missing container succeeds');
  assert.notEqual(rt.run(['delete', 'forced']).code, 0);
});

test('a created container can be deleted without --force', () => {
  rt.ok(['create', '--bundle', sleeper.dir, 'created-del']);
  const pid = JSON.parse(rt.ok(['state', 'created-del'])).pid;
  rt.ok(['delete', 'created-del']);
  assert.equal(processAlive(pid), false);
});

test('list: table, json and quiet', () => {
  rt.ok(['create', '--bundle', sleeper.dir, 'list-a']);
  rt.ok(['run', '-d', '--bundle', sleeper.dir, 'list-b']);
  try {
    const table = rt.ok(['list']).split('\n');
    assert.match(table[0]!, /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    assert.ok(table.some((l) => /^list-a\s+\d+\s+created\s/.test(l)));
    assert.ok(table.some((l) => /^list-b\s+\d+\s+running\s/.test(l)));
    const json = JSON.parse(rt.ok(['list', '--format', 'json']));
    assert.deepEqual(json.filter((s: { id: string }) => s.id.startsWith('list-')).map((s: { id: string; status: string }) => [s.id, s.status]), [['list-a', 'created'], ['list-b', 'running']]);
    assert.match(rt.ok(['list', '-q']), /^(.*\n)*list-a\nlist-b\n/);
  } finally {
    rt.ok(['delete', '-f', 'list-a']);
    rt.ok(['delete', '-f', 'list-b']);
  }
});

test('a duplicate id is refused and the first container is untouched', () => {
  rt.ok(['create', '--bundle', sleeper.dir, 'dup']);
  try {
    const r = rt.run(['create', '--bundle', sleeper.dir, 'dup']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /container "dup" already exists/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(status('dup'), 'created');
  } finally {
    rt.ok(['delete', 'dup']);
  }
});

test('liveness checks the start time: a reused pid is not the container', () => {
  rt.ok(['run', '-d', '--bundle', sleeper.dir, 'reuse']);
  const file = join(rt.root, 'reuse', 'state.json');
  const record = JSON.parse(readFileSync(file, 'utf8'));
  const realPid = record.pid;
  record.pid = process.pid; // alive, but not the container's init
  writeFileSync(file, JSON.stringify(record));
  assert.equal(status('reuse'), 'stopped');
  record.pid = realPid;
  writeFileSync(file, JSON.stringify(record));
  assert.equal(status('reuse'), 'running');
  rt.ok(['delete', '-f', 'reuse']);
});

test('state of an unknown container is a one-line error', () => {
  const r = rt.run(['state', 'nope']);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr, 'berth-runtime: container "nope" does not exist\n');
});
