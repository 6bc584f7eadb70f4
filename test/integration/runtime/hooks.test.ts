// The six OCI hooks: when they run, in which namespaces, with the state on stdin, args, env and
// timeouts; and what a failing hook does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync, readlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { leftovers } from '../../support/cli.ts';
import type { Hook } from '../../../src/oci/runtime-spec.ts';
import { runtimeSuite } from '../../support/runtime-suite.ts';

const { rt, work, newBundle } = runtimeSuite('hooks');

/** A hook script that appends "<name> <args> <env X> <uts ns> <hostname> <state json>" to log. */
function recorder(log: string): string {
  const path = join(work, 'record.sh');
  writeFileSync(
    path,
    `#!/bin/sh\nstate=$(cat)\necho "$1|$2|X=$X|$(readlink /proc/self/ns/uts)|$(cat /proc/sys/kernel/hostname)|$state" >> ${log}\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

const hook = (path: string, name: string, extra: Partial<Hook> = {}): Hook => ({ path, args: ['record', name, 'arg2'], env: ['X=1'], ...extra });

test('all six hooks run in order, with the state on stdin, their args and env', () => {
  const log = join(work, 'order.log');
  const rec = recorder(log);
  const b = newBundle(['sh', '-c', 'echo ran >> /ran.txt'], (s) => {
    s.root!.readonly = false;
    s.hostname = 'hooked';
    s.hooks = {
      prestart: [hook(rec, 'prestart')],
      createRuntime: [hook(rec, 'createRuntime')],
      createContainer: [hook(rec, 'createContainer')],
      startContainer: [hook('/bin/sh', 'startContainer', { args: ['sh', '-c', `echo "startContainer|$(hostname)|$(cat)" >> /hooklog`], env: [] })],
      poststart: [hook(rec, 'poststart')],
      poststop: [hook(rec, 'poststop')],
    };
  });
  rt.ok(['create', '--bundle', b.dir, 'hooks1']);
  const pid = JSON.parse(rt.ok(['state', 'hooks1'])).pid;
  const containerUts = readlinkSync(`/proc/${pid}/ns/uts`);
  rt.ok(['start', 'hooks1']);
  for (let i = 0; i < 200 && JSON.parse(rt.ok(['state', 'hooks1'])).status !== 'stopped'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  rt.ok(['delete', 'hooks1']);

  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split('|'));
  assert.deepEqual(lines.map((l) => l[0]), ['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop']);
  for (const l of lines) {
    assert.equal(l[1], 'arg2');
    assert.equal(l[2], 'X=1');
    const state = JSON.parse(l.slice(5).join('|'));
    assert.equal(state.id, 'hooks1');
    assert.equal(state.bundle, b.dir);
  }
  const byName = Object.fromEntries(lines.map((l) => [l[0], l]));
  assert.equal(byName.createContainer![3], containerUts, 'createContainer runs in the container namespaces');
  // (the hostname is set after pivot_root, as runc does, so createContainer still sees the old one)
  assert.notEqual(byName.createRuntime![3], containerUts, 'createRuntime runs in the runtime namespaces');
  assert.equal(JSON.parse(byName.prestart!.slice(5).join('|')).status, 'creating');
  assert.equal(JSON.parse(byName.poststart!.slice(5).join('|')).status, 'running');
  assert.equal(JSON.parse(byName.poststop!.slice(5).join('|')).status, 'stopped');
  assert.equal(JSON.parse(byName.prestart!.slice(5).join('|')).pid, pid);
  // startContainer ran inside the container, before the program, with the state on stdin
  const inside = readFileSync(join(b.rootfs, 'hooklog'), 'utf8').trim().split('|');
  assert.equal(inside[1], 'hooked');
  assert.equal(JSON.parse(inside.slice(2).join('|')).id, 'hooks1');
  assert.equal(readFileSync(join(b.rootfs, 'ran.txt'), 'utf8'), 'ran\n');
});

test('a failing createRuntime hook fails create, leaves nothing behind, and poststop hooks still run', () => {
  const marker = join(work, 'poststop-after-create-failure');
  const b = newBundle(['true'], (s) => (s.hooks = {
    createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }],
    poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${marker}`] }],
  }));
  const r = rt.run(['create', '--bundle', b.dir, 'hookfail']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /hooks\.createRuntime\[0\]: hook \/bin\/sh exited with status 3/);
  assert.deepEqual(leftovers(b.rootfs, join(rt.root, 'hookfail')), []);
  assert.equal(JSON.parse(readFileSync(marker, 'utf8')).status, 'stopped', 'poststop ran with the stopped state');
});

test('a failing poststart hook fails start and stops the container; delete runs poststop', () => {
  const marker = join(work, 'poststop-after-poststart');
  const b = newBundle(['sleep', '30'], (s) => (s.hooks = {
    poststart: [{ path: '/bin/false' }],
    poststop: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${marker}`] }],
  }));
  assert.equal(rt.run(['create', '--bundle', b.dir, 'poststartfail']).code, 0);
  const r = rt.run(['start', 'poststartfail']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /hooks\.poststart\[0\]: hook \/bin\/false exited with status 1/);
  assert.equal(JSON.parse(rt.ok(['state', 'poststartfail'])).status, 'stopped');
  rt.ok(['delete', 'poststartfail']);
  assert.ok(existsSync(marker));
});

test('a hook that outlives its timeout is killed and create fails', () => {
  const b = newBundle(['true'], (s) => (s.hooks = { prestart: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }));
  const started = Date.now();
  const r = rt.run(['create', '--bundle', b.dir, 'hooktimeout']);
  assert.notEqual(r.code, 0);
  assert.ok(Date.now() - started < 10_000);
  assert.match(r.stderr, /hooks\.prestart\[0\]: hook \/bin\/sleep timed out after 1s/);
  assert.deepEqual(leftovers(b.rootfs, join(rt.root, 'hooktimeout')), []);
});

test('a failing poststop hook is a warning: delete still succeeds', () => {
  const b = newBundle(['true'], (s) => (s.hooks = { poststop: [{ path: '/bin/false' }] }));
  const r = rt.run(['run', '--bundle', b.dir, 'poststopfail']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /warning: hooks\.poststop\[0\]: hook \/bin\/false exited with status 1/);
  assert.equal(existsSync(join(rt.root, 'poststopfail')), false);
});
