import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec } from '../../../src/oci/runtime-spec-validate.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import { defaultSpec } from '../../../src/runtime/default-spec.ts';

function fails(mutate: (s: Record<string, any>) => void, field: string, message?: RegExp): void {
  const s = JSON.parse(JSON.stringify(defaultSpec())) as Record<string, any>;
  mutate(s);
  assert.throws(
    () => parseSpec(JSON.stringify(s), '/b/config.json'),
    (err: unknown) =>
      err instanceof BerthError && err.kind === 'invalid-argument' && err.where.field === field && err.message.startsWith('/b/config.json: ') && (!message || message.test(err.message)),
  );
}

test('the default spec is valid', () => {
  assert.equal(parseSpec(JSON.stringify(defaultSpec())).ociVersion, '1.2.0');
});

test('malformed JSON names the file', () => {
  assert.throws(() => parseSpec('{"ociVersion": ', '/b/config.json'), /\/b\/config.json: not valid JSON/);
});

test('each invalid field is named', () => {
  fails((s) => delete s.ociVersion, 'ociVersion', /required/);
  fails((s) => (s.ociVersion = '2.0.0'), 'ociVersion', /unsupported version/);
  fails((s) => (s.root.path = 42), 'root.path');
  fails((s) => (s.process.args = []), 'process.args');
  fails((s) => (s.process.cwd = 'relative'), 'process.cwd', /absolute/);
  fails((s) => (s.process.user.uid = -1), 'process.user.uid');
  fails((s) => (s.process.env = ['NOEQUALS']), 'process.env[0]');
  fails((s) => (s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }]), 'process.rlimits[0].soft');
  fails((s) => s.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }), 'process.rlimits[1].type', /duplicate/);
  fails((s) => (s.linux.namespaces[1].type = 'bogus'), 'linux.namespaces[1].type', /unknown namespace type "bogus"/);
  fails((s) => s.linux.namespaces.push({ type: 'pid' }), 'linux.namespaces[6].type', /listed twice/);
  fails((s) => (s.mounts[2].destination = ''), 'mounts[2].destination', /empty/);
  fails((s) => (s.mounts[2].destination = 7), 'mounts[2].destination');
  fails((s) => (s.annotations = { '': 'x' }), 'annotations', /empty/);
  fails((s) => (s.hooks = { prestart: [{ path: 'rel' }] }), 'hooks.prestart[0].path');
  fails((s) => (s.linux.devices = [{ type: 'x', path: '/dev/x' }]), 'linux.devices[0].type');
  fails((s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]), 'linux.uidMappings');
});

test('unknown properties are ignored, hook kinds included (runtime-spec "Extensibility")', () => {
  const s = JSON.parse(JSON.stringify(defaultSpec())) as Record<string, any>;
  s.hooks = { onFire: [{ path: 'relative-is-not-checked-either' }], createRuntime: [{ path: '/bin/true' }] };
  s.somethingNew = { a: 1 };
  s.process.somethingNew = true;
  s.linux.somethingNew = [];
  const spec = parseSpec(JSON.stringify(s));
  assert.deepEqual(spec.hooks?.createRuntime, [{ path: '/bin/true' }]);
});

test('a relative mount destination is taken relative to "/", as the runtime-spec says', () => {
  const s = JSON.parse(JSON.stringify(defaultSpec())) as Record<string, any>;
  s.mounts.push({ destination: 'data/x', type: 'tmpfs', source: 'tmpfs' }, { destination: 'proc/kcore', type: 'bind', source: '/dev/null', options: ['bind'] });
  const spec = parseSpec(JSON.stringify(s));
  assert.deepEqual(spec.mounts!.slice(-2).map((m) => m.destination), ['/data/x', '/proc/kcore'], 'made absolute, so the /proc checks of the compiler see it');
});

test('runtime-spec 1.2 fields berth does not apply are refused, not ignored', () => {
  const unsupported = (mutate: (s: Record<string, any>) => void, field: string): void => {
    const s = JSON.parse(JSON.stringify(defaultSpec())) as Record<string, any>;
    mutate(s);
    assert.throws(
      () => parseSpec(JSON.stringify(s)),
      (err: unknown) => err instanceof BerthError && err.kind === 'unimplemented' && err.where.field === field && err.message.startsWith(`${field}: `),
    );
  };
  unsupported((s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 4 }), 'process.ioPriority');
  unsupported((s) => (s.process.scheduler = { policy: 'SCHED_BATCH' }), 'process.scheduler');
  unsupported((s) => (s.linux.intelRdt = {}), 'linux.intelRdt');
  unsupported((s) => (s.linux.intelRdt = { closID: 'gold', l3CacheSchema: 'L3:0=f' }), 'linux.intelRdt');
});
