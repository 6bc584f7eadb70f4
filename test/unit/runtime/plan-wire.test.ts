import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePlan, encodePlan } from '../../../src/sys/plan-wire.ts';
import type { Plan } from '../../../src/sys/plan-ops.ts';
import { compilePlan } from '../../../src/runtime/plan-compiler.ts';
import { hostFacts, specWith } from './helpers.ts';

// Origins and rlimit names are for people, not for berth-spawn: they are not on the wire.
// Namespace sets are flags on the wire, so their order is not kept.
const normalise = (plan: Plan): Plan =>
  plan.map(({ origin: _o, ...rest }) => {
    const op = { ...rest } as Record<string, unknown>;
    if (op.kind === 'setrlimit') op.name = '';
    if (Array.isArray(op.namespaces)) op.namespaces = [...(op.namespaces as string[])].sort();
    return op as unknown as Plan[number];
  });

test('every kind of operation survives encode -> decode', () => {
  const plan: Plan = [
    { kind: 'setns', ns: 'network', path: '/proc/1/ns/net' },
    { kind: 'clone', namespaces: ['pid', 'mount', 'uts'], wait: true },
    { kind: 'sync', point: 'clone', last: false },
    { kind: 'unshare', namespaces: ['cgroup'] },
    { kind: 'mount', source: null, target: '/', fstype: null, flags: 0x84000, data: null, inRoot: false },
    { kind: 'mount', source: 'tmpfs', target: '/dev', fstype: 'tmpfs', flags: 2, data: 'mode=755', inRoot: true },
    { kind: 'mknod', path: '/dev/null', mode: 0o20666, major: 1, minor: 3, uid: 0, gid: 0 },
    { kind: 'setrlimit', resource: 7, name: 'RLIMIT_NOFILE', soft: 1024n, hard: 0xffffffffffffffffn },
    { kind: 'setgroups', gids: [1, 2, 4294967295] },
    { kind: 'execve', args: ['sh', '-c', 'echo "a b"'], env: ['A=1', 'EMPTY='] },
    { kind: 'close-fds', keep: 2 },
    { kind: 'chroot', path: '/run/c/rootfs' },
    { kind: 'umount', path: '/run/c/rootfs/proc', flags: 2 },
    { kind: 'execve', args: [], env: [] },
    { kind: 'capset', phase: 'sets', bounding: 5n, effective: 1n << 40n, permitted: 3n, inheritable: 0n, ambient: 1n, lastCap: 40 },
    { kind: 'seccomp', flags: 4, program: new Uint8Array([6, 0, 0, 0, 0, 0, 0xff, 0x7f]) },
    { kind: 'mount-setattr', path: '/', set: 1n, clear: 0x70n, propagation: 0n, recursive: true },
    { kind: 'mask-path', path: '/proc/kcore', readonly: false },
    { kind: 'sethostname', name: 'héllo' },
  ];
  assert.deepEqual(normalise(decodePlan(encodePlan(plan))), normalise(plan));
});

test('a compiled default plan round-trips', () => {
  const plan = compilePlan({ spec: specWith(), bundle: '/b', rootfs: '/b/rootfs', fifoPath: '/run/x/exec.fifo', host: hostFacts() });
  assert.deepEqual(normalise(decodePlan(encodePlan(plan))), normalise(plan));
});

test('the header carries op count and body length', () => {
  const buf = encodePlan([{ kind: 'setsid' }, { kind: 'no-new-privs' }]);
  assert.equal(buf.toString('ascii', 0, 4), 'BPLN');
  assert.equal(buf.readUInt32LE(8), 2);
  assert.equal(buf.readUInt32LE(12), buf.length - 16);
});
