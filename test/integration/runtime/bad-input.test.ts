// Bad input: one clear error line naming the field or path, a non-zero exit, and nothing left
// behind (no mount, cgroup, process, state directory or fifo).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestBundle } from '../../support/bundle.ts';
import { leftovers } from '../../support/cli.ts';
import type { Spec } from '../../../src/oci/runtime-spec.ts';
import { runtimeSuite } from '../../support/runtime-suite.ts';

const { rt, newBundle } = runtimeSuite('bad');

let seq = 0;
function failsCleanly(prepare: (b: TestBundle) => void, expected: RegExp, mutate: (s: Spec) => void = () => {}): string {
  const b = newBundle(['true'], mutate);
  prepare(b);
  const id = `bad-${seq++}`;
  for (const command of ['create', 'run']) {
    const r = rt.run([command, '--bundle', b.dir, id]);
    assert.notEqual(r.code, 0, `${command} must fail`);
    assert.match(r.stderr, expected);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, /^berth-runtime: /);
    assert.deepEqual(leftovers(b.rootfs, join(rt.root, id), id), []);
  }
  return id;
}

test('malformed config.json', () => {
  failsCleanly((b) => writeFileSync(join(b.dir, 'config.json'), '{"ociVersion": "1.0.2", "process": '), /config\.json: not valid JSON/);
});

test('missing config.json', () => {
  failsCleanly((b) => rmSync(join(b.dir, 'config.json')), /has no config\.json/);
});

test('invalid field type', () => {
  failsCleanly(() => {}, /config\.json: process\.user\.uid: must be an integer/, (s) => ((s.process!.user as { uid: unknown }).uid = 'root'));
});

test('missing rootfs', () => {
  failsCleanly((b) => rmSync(b.rootfs, { recursive: true }), /root\.path: rootfs .*rootfs does not exist/);
});

test('unknown namespace type', () => {
  failsCleanly(() => {}, /linux\.namespaces\[1\]\.type: unknown namespace type "netwrk"/, (s) => (s.linux!.namespaces![1]!.type = 'netwrk' as 'network'));
});

test('a joined namespace path that does not exist', () => {
  failsCleanly(() => {}, /linux\.namespaces\[1\]: open namespace \/proc\/999999999\/ns\/net.*ENOENT/, (s) => (s.linux!.namespaces![1] = { type: 'network', path: '/proc/999999999/ns/net' }));
});

test('a kernel failure after clone (unknown filesystem type) names the mount and cleans up', () => {
  failsCleanly(() => {}, /mounts\[7\]: mount nosuchfs on \/x \(type nosuchfs\).*ENODEV/, (s) => s.mounts!.push({ destination: '/x', type: 'nosuchfs', source: 'nosuchfs' }));
});

test('a program that is not in the container fails at create, not at start', () => {
  failsCleanly(() => {}, /process\.args\[0\]: exec nope: executable file not found in \$PATH.*ENOENT/, (s) => (s.process!.args = ['nope']));
});

test('a mount through a symlink that points outside the rootfs stays inside the rootfs', () => {
  const outside = mkdtempSync(join(tmpdir(), 'berth-test-outside-'));
  writeFileSync(join(outside, 'keep'), 'host file');
  const b = newBundle(['sh', '-c', 'ls /escape'], (s) => s.mounts!.push({ destination: '/escape/sub', type: 'tmpfs', source: 'tmpfs' }));
  // An absolute and a climbing symlink, both aimed at a host directory.
  symlinkSync(outside, join(b.rootfs, 'escape'));
  symlinkSync(`../../../../../../..${outside}`, join(b.rootfs, 'escape2'));
  try {
    const r = rt.run(['run', '--bundle', b.dir, 'escape']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(outside), ['keep'], 'nothing was created or mounted on the host');
    assert.ok(existsSync(join(b.rootfs, outside, 'sub')), 'the symlink target was made inside the rootfs');
    b.spec.mounts!.at(-1)!.destination = '/escape2/sub2';
    b.write();
    assert.equal(rt.run(['run', '--bundle', b.dir, 'escape2']).code, 0);
    assert.deepEqual(readdirSync(outside), ['keep']);
    assert.deepEqual(leftovers(b.rootfs), []);
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test('unknown flags and commands are one-line errors', () => {
  const a = rt.run(['create', '--bundel', 'x', 'id']);
  assert.notEqual(a.code, 0);
  assert.equal(a.stderr, 'berth-runtime: unknown flag --bundel\n');
  const c = rt.run(['frobnicate']);
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, /^berth-runtime: unknown command "frobnicate"/);
  assert.equal(rt.run(['create', 'bad/id']).stderr.split('\n')[0], 'berth-runtime: invalid container id "bad/id": use letters, digits, and _ + - . (container-id)');
});

void mkdirSync;
