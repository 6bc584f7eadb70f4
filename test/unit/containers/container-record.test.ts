// The container service's pure rules: a record's status from the facts about its processes, the
// CRI's exit reasons, what ps shows, and which operation is allowed in which status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitReason, statusText, viewOf, type ContainerRecord, type ContainerStatus, type LiveFacts } from '../../../src/containers/container-record.ts';
import { allowed, requireAllowed, type Operation } from '../../../src/containers/transitions.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const base: ContainerRecord = { id: 'c1', name: 'web', image: 'localhost/bb:1', command: ['sh'], created: '2026-01-02T03:04:05.000Z' };
const monitored = (extra: Partial<ContainerRecord> = {}): ContainerRecord => ({ ...base, state: 'running', monitor: { pid: 10, startTime: 5, bound: true }, init: { pid: 11, startTime: 6 }, ...extra });

test('a record being created: creating while its creator lives, abandoned once it died', () => {
  const r = { ...base, state: 'creating' as const, creator: { pid: 9, startTime: 1 } };
  assert.deepEqual(viewOf(r, { creatorAlive: true }), { status: 'creating' });
  assert.deepEqual(viewOf(r, { creatorAlive: false }), { status: 'creating', abandoned: true });
});

test('a monitored container: supervised while the monitor lives, ended with its exit, lost when the monitor died', () => {
  assert.deepEqual(viewOf(monitored(), { monitorAlive: true, initAlive: true }), { status: 'running', supervision: 'supervised' });
  assert.deepEqual(viewOf(monitored({ state: 'created' }), { monitorAlive: true }), { status: 'created', supervision: 'supervised' });
  // The exit file wins over a monitor that is still finishing.
  assert.deepEqual(viewOf(monitored(), { monitorAlive: true, exit: { status: 3, time: 1_700_000_000_123_456_789n } }), {
    status: 'stopped', supervision: 'ended', exitCode: 3, finished: '2023-11-14T22:13:20.123456789Z',
  });
  assert.deepEqual(viewOf(monitored(), { monitorAlive: false, initAlive: true }), { status: 'running', supervision: 'lost' });
  assert.deepEqual(viewOf(monitored(), { monitorAlive: false, initAlive: false }), { status: 'stopped', supervision: 'lost' });
  // What was recorded needs no facts.
  assert.deepEqual(viewOf(monitored({ state: 'stopped', exitCode: 137, finished: '2026-01-02T03:04:06.5Z' }), {}), {
    status: 'stopped', supervision: 'ended', exitCode: 137, finished: '2026-01-02T03:04:06.5Z',
  });
});

test('a foreground container lives as long as its init or its creator; its exit code once written', () => {
  const fg: ContainerRecord = { ...base, state: 'running', foreground: true, creator: { pid: 9, startTime: 1 } };
  assert.deepEqual(viewOf(fg, { creatorAlive: true, initAlive: false }), { status: 'running' });
  assert.deepEqual(viewOf(fg, { creatorAlive: false, initAlive: false }), { status: 'stopped' });
  assert.deepEqual(viewOf(fg, { exit: { status: 0 } }), { status: 'stopped', exitCode: 0 });
});

test('between two runs of a restart policy: restarting, with the last exit; paused while frozen', () => {
  const r = monitored({ state: 'stopped', exitCode: 1, finished: '2026-01-02T03:04:06.5Z', restarting: { since: '2026-01-02T03:04:06.6Z', delayMs: 200 } });
  assert.deepEqual(viewOf(r, {}), { status: 'restarting', exitCode: 1, finished: '2026-01-02T03:04:06.5Z' });
  assert.equal(statusText(viewOf(r, {})), 'Restarting (1)');
  const frozen = viewOf(monitored({ paused: true }), { monitorAlive: true, initAlive: true });
  assert.deepEqual(frozen, { status: 'running', supervision: 'supervised', paused: true });
  assert.equal(statusText(frozen), 'Up (Paused)');
});

test("an older berth's record (no state, no init) is taken as started", () => {
  const old: ContainerRecord = { ...base, monitor: { pid: 10, startTime: 5, bound: true } };
  assert.equal(viewOf(old, { monitorAlive: true }).status, 'running');
  assert.equal(viewOf({ ...base }, { exit: { status: 2 } }).exitCode, 2);
});

test("exit reasons as the CRI names them", () => {
  assert.equal(exitReason(0, false), 'Completed');
  assert.equal(exitReason(1, false), 'Error');
  assert.equal(exitReason(137, true), 'OOMKilled');
  assert.equal(exitReason(0, true), 'OOMKilled');
});

test("what ps shows", () => {
  assert.equal(statusText({ status: 'running', supervision: 'supervised' }), 'Up');
  assert.equal(statusText({ status: 'created' }), 'Created');
  assert.equal(statusText({ status: 'stopped', exitCode: 5 }), 'Exited (5)');
  assert.equal(statusText({ status: 'stopped' }), 'Exited');
  assert.equal(statusText({ status: 'running', supervision: 'lost' }), 'Up (unsupervised)');
  assert.equal(statusText({ status: 'stopped', supervision: 'lost' }), 'Exited (monitor died)');
  assert.equal(statusText({ status: 'created', supervision: 'lost' }), 'Created (unsupervised)');
});

test('the transition table: each operation in each status', () => {
  const statuses: ContainerStatus[] = ['creating', 'created', 'running', 'restarting', 'stopped'];
  const table: Record<Operation, ContainerStatus[]> = {
    start: ['created'],
    'start-again': ['stopped'],
    stop: ['creating', 'created', 'running', 'restarting', 'stopped'],
    kill: ['created', 'running'],
    remove: ['creating', 'created', 'stopped'],
    exec: ['created', 'running'],
    attach: ['created', 'running'],
    update: ['created', 'running'],
    pause: ['running'],
    unpause: ['running'],
  };
  for (const [op, ok] of Object.entries(table) as Array<[Operation, ContainerStatus[]]>) {
    for (const s of statuses) assert.equal(allowed(op, s), ok.includes(s), `${op} when ${s}`);
  }
  assert.equal(allowed('remove', 'running', true), true, 'force removes a running one');
  assert.equal(allowed('start', 'running', true), false, 'force is only for remove');
});

test('refusals name the container and say why', () => {
  const refused = (op: Operation, status: ContainerStatus, pattern: RegExp): void =>
    assert.throws(() => requireAllowed(op, 'web', { status }), (e: unknown) => e instanceof BerthError && e.kind === 'failed-precondition' && pattern.test(e.message));
  refused('remove', 'running', /^container "web" is running: stop it first or use --force$/);
  refused('exec', 'stopped', /^cannot exec in container "web": it is stopped$/);
  refused('start', 'running', /^cannot start container web: it is running$/);
  refused('kill', 'stopped', /^container "web" is not running$/);
  refused('kill', 'restarting', /^container "web" is restarting: wait until it runs$/);
  refused('pause', 'created', /^container "web" is not running$/);
  assert.doesNotThrow(() => requireAllowed('remove', 'web', { status: 'running' }, true));
});
