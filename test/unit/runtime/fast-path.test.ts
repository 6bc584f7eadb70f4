// The fast-path file that berth-runtime's native front reads (src/runtime/fast-path.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFields, encodeFastPath, encodeFields } from '../../../src/runtime/fast-path.ts';
import { startMessage, stateOutputOf, stateText } from '../../../src/runtime/state-output.ts';
import type { ContainerRecord } from '../../../src/runtime/state-store.ts';
import { specWith } from './helpers.ts';

const identity = { ino: 12345n, size: 678n, mtimeNs: 1764770000123456789n };

function record(overrides: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: 'c1',
    bundle: '/b',
    rootfs: '/b/rootfs',
    pid: 4242,
    pidStartTime: 99,
    created: '2026-12-03T12:00:00.000Z',
    creating: false,
    owner: '',
    config: specWith(),
    ...overrides,
  };
}

function fields(r: ContainerRecord, cgroups = null as Parameters<typeof encodeFastPath>[1]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of decodeFields(encodeFastPath(r, cgroups, identity)!)) out.set(k, [...(out.get(k) ?? []), v.toString()]);
  return out;
}

test('fields round-trip, whatever bytes a value holds', () => {
  const values: Array<[string, string | Buffer]> = [['a', ''], ['b', 'x\ny 1\n'], ['c', Buffer.from([0, 255, 10])]];
  assert.deepEqual(decodeFields(encodeFields(values)).map(([k, v]) => [k, v.toString('latin1')]), values.map(([k, v]) => [k, Buffer.from(v).toString('latin1')]));
  assert.throws(() => decodeFields(Buffer.from('something else\n')), /not a fast-path v1 file/);
});

test('no fast path while creating, paused, or without a pid', () => {
  assert.equal(encodeFastPath(record({ creating: true }), null, identity), null);
  assert.equal(encodeFastPath(record({ paused: true }), null, identity), null);
  assert.equal(encodeFastPath(record({ pid: 0 }), null, identity), null);
});

test('the state text of every status is what `state` prints', () => {
  const r = record({ config: specWith((s) => (s.annotations = { k: 'v "q"' })) });
  const f = fields(r);
  for (const status of ['created', 'running', 'stopped'] as const) {
    assert.equal(f.get(`state.${status}`)![0], stateText(stateOutputOf(r, status)));
    assert.equal(f.get(`list.${status}`)![0], JSON.stringify(stateOutputOf(r, status)));
  }
  assert.match(f.get('state.stopped')![0]!, /"pid": 0,/);
  assert.deepEqual(f.get('table.running'), [['c1', '4242', 'running', '/b', '2026-12-03T12:00:00.000Z', 'root'].join('\0')]);
  assert.deepEqual(f.get('state-file'), ['12345 678 1764770000123456789']);
  assert.deepEqual(f.get('pid'), ['4242']);
  assert.deepEqual(f.get('start-time'), ['99']);
});

test('the start message is the fifo message of the created state', () => {
  const r = record();
  const msg = decodeFields(encodeFastPath(r, null, identity)!).find(([k]) => k === 'start.message')![1];
  assert.deepEqual(msg, startMessage({ ociVersion: '1.2.0', id: 'c1', status: 'created', bundle: '/b', pid: 4242 }));
  assert.equal(msg.readUInt32LE(0), msg.length - 4);
});

test('hooks send start and delete to Node', () => {
  assert.deepEqual(fields(record()).get('needs-node'), ['']);
  const hook = { path: '/bin/true' };
  assert.deepEqual(fields(record({ config: specWith((s) => (s.hooks = { poststart: [hook] })) })).get('needs-node'), ['start']);
  assert.deepEqual(fields(record({ config: specWith((s) => (s.hooks = { poststart: [hook], poststop: [hook] })) })).get('needs-node'), ['start delete']);
  assert.deepEqual(fields(record({ config: specWith((s) => (s.hooks = { prestart: [hook] })) })).get('needs-node'), ['']);
});

test('the delete plan: cgroups, parents deepest first, then the state files, fast path first', () => {
  const f = fields(record(), { procsDir: '/sys/fs/cgroup/devices/x/c1', dirs: ['/sys/fs/cgroup/cpu/x/c1', '/sys/fs/cgroup/devices/x/c1'], parents: ['/sys/fs/cgroup/cpu/x'] });
  assert.deepEqual(f.get('cgroup.procs'), ['/sys/fs/cgroup/devices/x/c1']);
  assert.deepEqual(f.get('cgroup.dir'), ['/sys/fs/cgroup/cpu/x/c1', '/sys/fs/cgroup/devices/x/c1']);
  assert.deepEqual(f.get('cgroup.parent'), ['/sys/fs/cgroup/cpu/x']);
  assert.deepEqual(f.get('remove'), ['fast-path.v1', 'state.json', 'exec.fifo']);
  assert.equal(fields(record()).get('cgroup.dir'), undefined);
});

test('a table cell that is not printable ASCII leaves the whole table to Node', () => {
  const f = fields(record({ bundle: '/bündle' }));
  for (const s of ['created', 'running', 'stopped']) assert.equal(f.get(`table.${s}`), undefined);
  assert.ok(f.get('list.running'));
});
