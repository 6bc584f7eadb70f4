// The rest of runc's command line: spec, features, plan, --log / --log-format, --preserve-fds,
// --no-pivot, --systemd-cgroup, help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { berthRuntimeBin } from '../../support/cli.ts';
import { parseSpec } from '../../../src/oci/runtime-spec-validate.ts';
import { runtimeSuite } from '../../support/runtime-suite.ts';

const { rt, work, newBundle } = runtimeSuite('cli');

test('spec writes a valid default config.json and refuses to overwrite one', () => {
  const dir = join(work, 'spec');
  rt.ok(['spec', '--bundle', dir]);
  const spec = parseSpec(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(spec.process!.args, ['sh']);
  assert.equal(spec.root!.path, 'rootfs');
  const again = rt.run(['spec', '--bundle', dir]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /config\.json exists\. Remove it first/);
  rt.ok(['spec', '--rootless', '--bundle', join(work, 'rootless')]);
  const rootless = parseSpec(readFileSync(join(work, 'rootless', 'config.json'), 'utf8'));
  assert.ok(rootless.linux!.namespaces!.some((n) => n.type === 'user'));
});

test('features reports what berth implements, in runc\'s JSON shape', () => {
  const f = JSON.parse(rt.ok(['features']));
  assert.equal(f.ociVersionMin, '1.0.0');
  assert.deepEqual(f.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  assert.ok(f.mountOptions.includes('rro') && f.mountOptions.includes('nosymfollow'));
  assert.deepEqual(f.linux.namespaces, ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']);
  assert.equal(f.linux.cgroup.v1, true);
  assert.equal(f.linux.cgroup.v2, true);
  assert.equal(f.annotations['org.berth.runtime.cgroup.v2.devices'], 'ebpf', 'v2 device rules are enforced');
  assert.equal(f.linux.cgroup.systemd, false);
  assert.equal(f.linux.seccomp.enabled, true);
  assert.ok(f.linux.seccomp.archs.includes('SCMP_ARCH_X86_64'));
  assert.ok(f.linux.capabilities.includes('CAP_CHECKPOINT_RESTORE'));
  assert.equal(f.linux.apparmor.enabled, false);
});

test('plan prints the ordered operations, deterministically', () => {
  const b = newBundle(['true']);
  const a = rt.ok(['plan', '--bundle', b.dir, 'p']);
  assert.equal(rt.ok(['plan', '--bundle', b.dir, 'p']), a);
  const lines = a.trim().split('\n');
  assert.match(lines[0]!, /^ *0 +mkfifo /);
  assert.ok(lines.some((l) => /pivot-root +\S+\/rootfs +# root\.path/.test(l)));
  assert.match(lines.at(-1)!, /execve +\["true"\]/);
  const json = JSON.parse(rt.ok(['plan', '--format', 'json', '--bundle', b.dir, 'p']));
  assert.equal(json.length, lines.length);
  assert.equal(existsSync(join(rt.root, 'p')), false, 'plan creates nothing');
});

test('--log with --log-format json records errors as runc does', () => {
  const log = join(work, 'log.json');
  const r = rt.run(['--log', log, '--log-format', 'json', 'state', 'missing']);
  assert.notEqual(r.code, 0);
  const entry = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1)!);
  assert.equal(entry.level, 'error');
  assert.equal(entry.msg, 'container "missing" does not exist');
  assert.ok(!Number.isNaN(Date.parse(entry.time)));
  const text = join(work, 'log.txt');
  rt.run(['--log', text, 'state', 'missing']);
  assert.match(readFileSync(text, 'utf8'), /^time="[^"]+" level=error msg="container \\"missing\\" does not exist"$/m);
  assert.match(rt.run(['--log-format', 'yaml', 'list']).stderr, /--log-format: "yaml" is not 'text' or 'json'/);
});

test('--preserve-fds passes the caller\'s fds 3.. to the container', () => {
  const b = newBundle(['sh', '-c', 'cat <&3; cat <&4; ls /proc/self/fd | sort -n | tr "\\n" " "']);
  const f3 = join(work, 'fd3');
  const f4 = join(work, 'fd4');
  writeFileSync(f3, 'three\n');
  writeFileSync(f4, 'four\n');
  const fd3 = openSync(f3, 'r');
  const fd4 = openSync(f4, 'r');
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  try {
    const r = spawnSync(berthRuntimeBin, ['--root', rt.root, 'run', '--preserve-fds', '2', '--bundle', b.dir, 'fds'], { stdio: ['ignore', 'pipe', 'pipe', fd3, fd4], env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.trim().split('\n');
    assert.deepEqual(out.slice(0, 2), ['three', 'four']);
    assert.equal(out[2]!.trim(), '0 1 2 3 4 5');
  } finally {
    closeSync(fd3);
    closeSync(fd4);
  }
});

test('--no-pivot runs the container with MS_MOVE + chroot', () => {
  const b = newBundle(['sh', '-c', 'cat /proc/self/mountinfo | grep -c " / / "; echo $$']);
  const r = rt.run(['run', '--no-pivot', '--bundle', b.dir, 'nopivot']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n')[1], '1');
  assert.match(rt.ok(['plan', '--no-pivot', '--bundle', b.dir]), /move-root/);
});

test('--systemd-cgroup is refused clearly; --no-new-keyring and --rootless are accepted', () => {
  const b = newBundle(['true']);
  const r = rt.run(['--systemd-cgroup', 'run', '--bundle', b.dir, 'sd']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--systemd-cgroup: the systemd cgroup driver is not supported by berth-runtime/);
  assert.equal(rt.run(['--rootless', 'false', 'run', '--no-new-keyring', '--bundle', b.dir, 'nk']).code, 0);
});

test('help and version', () => {
  assert.match(rt.ok(['--version']), /^berth-runtime version \d+\.\d+\.\d+\nspec: 1\.2\.0\n$/);
  assert.match(rt.ok(['--help']), /commands:\n {2}create/);
  assert.match(rt.ok(['create', '--help']), /--console-socket/);
});
