// berth's exit statuses against real containers, as docker's: run is 125 when berth fails, 126
// when the command cannot be invoked, 127 when it is not found, else the container's own status;
// exec the same but 1 for its own failures; other commands 1 (rm, stop... of several go on past
// one that fails). A run that fails leaves nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { busyboxStore, type BusyboxStore } from '../../support/busybox-store.ts';

const IMAGE = 'localhost/exitcodes:1';
let store: BusyboxStore;
const code = (...args: string[]): number => store.berth(...args).code;
const containers = (): unknown[] => JSON.parse(store.ok('ps', '-a', '--format', 'json'));

before(() => {
  store = busyboxStore('berth-test-exit-', IMAGE);
});

after(() => store.cleanup());

test('run: 127 not found, 126 not invocable, 125 berth failed, else the container status; nothing left of a failure', () => {
  const notFound = store.berth('run', '--rm', IMAGE, '/nonexistent');
  assert.equal(notFound.code, 127);
  assert.match(notFound.stderr, /^berth: .*\/nonexistent: no such file or directory/);
  assert.equal(code('run', '--rm', IMAGE, 'nosuchcommand'), 127, 'not in $PATH');
  assert.equal(code('run', '--rm', IMAGE, '/etc'), 126, 'a directory');
  assert.equal(code('run', '--rm', IMAGE, '/etc/passwd'), 126, 'not executable');
  assert.equal(code('run', '--rm', IMAGE, 'sh', '-c', 'exit 7'), 7);
  assert.equal(code('run', '--rm', IMAGE, 'sh', '-c', 'exit 255'), 255);
  assert.equal(code('run', '--rm', 'localhost/no-such-image:1', 'true'), 125);
  assert.equal(code('run', '--rm', '--memory', '1x', IMAGE, 'true'), 125);
  assert.equal(code('run', '--rm', '--bogus', IMAGE, 'true'), 125);
  assert.equal(code('run', '--rm', '-v', '/no/such/source:/x', IMAGE, 'true'), 125);
  assert.equal(code('run', '-d', IMAGE, '/nonexistent'), 127, 'in the background too');
  assert.equal(code('run', '-d', IMAGE, '/etc'), 126);
  assert.deepEqual(containers(), []);
});

test('exec: 127, 126, the process status, 1 when berth fails; other commands 1', () => {
  store.ok('run', '-d', '--name', 'sleeper', IMAGE, 'sleep', '1000');
  assert.equal(code('exec', 'sleeper', '/nonexistent'), 127);
  assert.equal(code('exec', 'sleeper', '/etc'), 126);
  assert.equal(code('exec', 'sleeper', 'sh', '-c', 'exit 9'), 9);
  assert.equal(code('exec', 'no-such-container', 'true'), 1);
  assert.equal(code('exec', '--bogus', 'sleeper', 'true'), 125);
  assert.equal(code('rm', 'sleeper'), 1, 'running: rm without --force fails');
  assert.equal(code('rm', 'no-such-container'), 1);
  assert.equal(code('logs', 'no-such-container'), 1);
  assert.equal(code('rmi', 'localhost/no-such-image:1'), 1);
  assert.equal(code('stop', '-t', 'x', 'sleeper'), 125, 'a bad flag value, as docker: 125');
  store.ok('rm', '--force', 'sleeper');
});

test('rm and stop of several: one that fails is said so, the others still go, exit 1', () => {
  store.ok('run', '-d', '--name', 'one', IMAGE, 'sleep', '1000');
  store.ok('run', '-d', '--name', 'two', IMAGE, 'sleep', '1000');
  const stop = store.berth('stop', '-t', '0', 'one', 'nosuch', 'two');
  assert.deepEqual([stop.code, stop.stdout, stop.stderr], [1, 'one\ntwo\n', 'berth: no such container: "nosuch"\n']);
  const rm = store.berth('rm', 'one', 'nosuch', 'two');
  assert.deepEqual([rm.code, rm.stdout, rm.stderr], [1, 'one\ntwo\n', 'berth: no such container: "nosuch"\n']);
  assert.deepEqual(containers(), []);
});
