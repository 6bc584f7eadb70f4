import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/oci/errors.ts';
import { cgroupHostFromProc } from '../../../src/runtime/cgroups/cgroup-host.ts';
import { cgroupManagerFor, cgroupManagerFromJSON } from '../../../src/runtime/cgroups/cgroup-manager.ts';
import { parseCgroupManagerRecord } from '../../../src/runtime/cgroups/manager-record.ts';

const v1Host = cgroupHostFromProc(
  `35 31 0:32 / /cg/memory rw - cgroup cgroup rw,memory
36 31 0:33 / /cg/devices rw - cgroup cgroup rw,devices
`,
  '4:memory:/\n5:devices:/\n',
  '/cg',
);

test('a manager survives JSON (the state file) and comes back with the same paths', () => {
  const m = cgroupManagerFor(v1Host, { id: 'c1', cgroupsPath: '/berth/c1' });
  const text = JSON.stringify(m.toJSON());
  const again = cgroupManagerFromJSON(JSON.parse(text));
  assert.equal(again.mode, 'v1');
  assert.deepEqual(again.paths(), { memory: '/cg/memory/berth/c1', devices: '/cg/devices/berth/c1' });
  assert.deepEqual(again.toJSON(), m.toJSON());
});

test('v2 records round-trip too', () => {
  const host = cgroupHostFromProc('30 23 0:26 / /cg rw - cgroup2 cgroup2 rw\n', '0::/\n', '/cg');
  const m = cgroupManagerFor(host, { id: 'c2' });
  assert.deepEqual(m.toJSON(), { version: 1, mode: 'v2', path: '/cg/c2', mountpoint: '/cg', createdParents: [] });
  assert.deepEqual(cgroupManagerFromJSON(m.toJSON()).paths(), { unified: '/cg/c2' });
});

test('a tampered record that points outside the cgroup mounts is refused', () => {
  const bad = [
    null,
    { version: 2, mode: 'v2', path: '/cg/a', mountpoint: '/cg' },
    { version: 1, mode: 'v3' },
    { version: 1, mode: 'v2', path: '/etc', mountpoint: '/cg' },
    { version: 1, mode: 'v2', path: '/cg/../etc', mountpoint: '/cg' },
    { version: 1, mode: 'v2', path: 'cg/a', mountpoint: '/cg' },
    { version: 1, mode: 'v2', path: '/cg', mountpoint: '/cg' },
    { version: 1, mode: 'v2', path: '/cg/a', mountpoint: '/cg', createdParents: ['/tmp'] },
    { version: 1, mode: 'v1', paths: { memory: '/cg/memory/a' }, mountpoints: {} },
    { version: 1, mode: 'v1', paths: { memory: '/cg/devices/a' }, mountpoints: { memory: '/cg/memory' } },
    { version: 1, mode: 'v1', paths: [], mountpoints: {} },
  ];
  for (const record of bad) {
    assert.throws(() => parseCgroupManagerRecord(record), (err: unknown) => err instanceof BerthError && err.kind === 'invalid-argument', JSON.stringify(record));
  }
});
