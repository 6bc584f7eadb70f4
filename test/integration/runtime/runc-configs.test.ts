// Configs that runc runs, written by runc itself (`runc spec`) and adjusted as users do: seccomp
// profiles that forbid what the runtime's clean-up would call, shared rootfs propagation, a
// hostname in a joined uts namespace, no mount namespace, and a namespace path that is a FIFO.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Seccomp, Spec } from '../../../src/oci/runtime-spec.ts';
import { makeRootfs } from '../../support/bundle.ts';
import { berthRuntimeBin, leftovers, RuntimeCli } from '../../support/cli.ts';

const rt = new RuntimeCli();
const temps: string[] = [];
after(() => {
  rt.cleanup();
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

let seq = 0;
/** A bundle whose config.json is what `runc spec` writes, with args and a mutation applied. */
function runcBundle(args: string[], mutate: (s: Spec) => void = () => {}): { dir: string; rootfs: string; id: string } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-test-runcspec-'));
  temps.push(dir);
  execFileSync('runc', ['spec'], { cwd: dir });
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
  makeRootfs(join(dir, spec.root!.path));
  spec.process!.terminal = false;
  spec.process!.args = args;
  mutate(spec);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  return { dir, rootfs: join(dir, spec.root!.path), id: `runccfg-${process.pid}-${seq++}` };
}

function run(b: { dir: string; id: string }): { code: number; out: string; err: string } {
  const r = rt.run(['run', '--bundle', b.dir, b.id]);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

// What busybox-static's `true` calls (strace -f -c), and nothing else.
const STATIC_TRUE = ['execve', 'brk', 'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'mprotect', 'getrandom', 'readlink', 'getuid', 'prctl', 'exit_group'];

test('seccomp: an allowlist holding only what a static `true` needs runs it (no_new_privs, as runc spec)', () => {
  const seccomp: Seccomp = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: STATIC_TRUE, action: 'SCMP_ACT_ALLOW' }] };
  const ok = runcBundle(['/bin/true'], (s) => (s.linux!.seccomp = seccomp));
  const r = run(ok);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  // and the filter is really there: `false`'s exit status passes, a write is refused
  const denied = run(runcBundle(['/bin/echo', 'hello'], (s) => (s.linux!.seccomp = seccomp)));
  assert.notEqual(denied.code, 0);
  assert.equal(denied.out, '');
});

test('seccomp: a profile that forbids close_range, with and without no_new_privs (docker before 2021)', () => {
  for (const noNewPrivileges of [true, false]) {
    const b = runcBundle(['sh', '-c', 'grep Seccomp: /proc/self/status; echo done'], (s) => {
      s.process!.noNewPrivileges = noNewPrivileges;
      s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO' }] };
    });
    const r = run(b);
    assert.equal(r.code, 0, `noNewPrivileges=${noNewPrivileges}: ${r.err}`);
    assert.match(r.out, /Seccomp:\s+2\ndone/);
  }
});

test('seccomp: fds beyond stdio are closed at execve under a filter (preserved ones kept)', () => {
  const b = runcBundle(['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "'], (s) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO' }] };
  });
  const r = run(b);
  assert.equal(r.code, 0, r.err);
  // 0-2 plus ls's own directory fd
  assert.deepEqual(r.out.trim().split(' ').map(Number).filter((fd) => fd > 2).length, 1, r.out);
});

for (const propagation of ['shared', 'rshared'] as const) {
  test(`rootfsPropagation "${propagation}": the container runs and its root mount is shared`, () => {
    const b = runcBundle(['awk', '$5 == "/"', '/proc/self/mountinfo'], (s) => (s.linux!.rootfsPropagation = propagation));
    const r = run(b);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, / shared:\d+ /);
    assert.deepEqual(leftovers(b.rootfs, join(rt.root, b.id), b.id), []);
  });
}

test('rshared: a mount made inside the container propagates to its peers (a bind of the rootfs elsewhere in the container)', () => {
  const b = runcBundle(['sh', '-c', 'mkdir -p /tmp/a /tmp/b && mount --bind /tmp/a /tmp/b && mkdir -p /mnt/peer && mount -t tmpfs x /tmp/a && grep -c " /tmp/b " /proc/self/mountinfo'], (s) => {
    s.linux!.rootfsPropagation = 'rshared';
    s.process!.capabilities!.bounding!.push('CAP_SYS_ADMIN');
    s.process!.capabilities!.effective!.push('CAP_SYS_ADMIN');
    s.process!.capabilities!.permitted!.push('CAP_SYS_ADMIN');
    s.root!.readonly = false;
  });
  const r = run(b);
  assert.equal(r.code, 0, r.err);
  // /tmp/b (a peer of /tmp/a under rshared) receives the tmpfs mounted on /tmp/a: two entries
  assert.equal(r.out.trim(), '2');
});

test('hostname in a uts namespace joined by path is set there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-test-utsns-'));
  temps.push(dir);
  const nsFile = join(dir, 'uts');
  writeFileSync(nsFile, '');
  execFileSync('unshare', [`--uts=${nsFile}`, 'true']);
  try {
    const b = runcBundle(['hostname'], (s) => {
      s.hostname = 'joined-uts';
      s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'uts' ? { type: 'uts', path: nsFile } : n));
    });
    const r = run(b);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'joined-uts');
    assert.equal(execFileSync('nsenter', [`--uts=${nsFile}`, 'hostname'], { encoding: 'utf8' }).trim(), 'joined-uts');
    assert.notEqual(execFileSync('hostname', { encoding: 'utf8' }).trim(), 'joined-uts');
  } finally {
    execFileSync('umount', [nsFile]);
  }
});

test('no mount namespace: runs chrooted in the rootfs, its mounts are made and removed again at delete', () => {
  const b = runcBundle(['sh', '-c', 'cat /.berth-test-rootfs; echo; grep -c . /proc/mounts >/dev/null && echo proc-ok; ls /dev/null'], (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount');
    s.root!.readonly = false;
  });
  const r = run(b);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n'), [b.rootfs, 'proc-ok', '/dev/null']);
  assert.deepEqual(leftovers(b.rootfs, join(rt.root, b.id), b.id), [], 'the mounts made in the host table are gone');
});

test('no mount namespace: what would change the host mounts is refused naming the field', () => {
  const ro = run(runcBundle(['true'], (s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount'))));
  assert.equal(ro.code, 2, 'invalid argument');
  assert.match(ro.err, /root\.readonly: .*needs a mount namespace/);
  const prop = run(runcBundle(['true'], (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount');
    s.root!.readonly = false;
    s.linux!.rootfsPropagation = 'rprivate';
  }));
  assert.match(prop.err, /linux\.rootfsPropagation: .*needs a mount namespace/);
});

test('a FIFO as a namespace path fails at once with a clear error and leaves nothing behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-test-fifons-'));
  temps.push(dir);
  const fifo = join(dir, 'netns');
  execFileSync('mkfifo', [fifo]);
  const b = runcBundle(['true'], (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: fifo } : n));
  });
  const started = Date.now();
  const r = rt.run(['create', '--bundle', b.dir, b.id], { timeoutMs: 10_000 });
  assert.ok(Date.now() - started < 5000, 'create did not hang');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /linux\.namespaces\[\d\]: .*netns is not a namespace file/);
  assert.deepEqual(leftovers(b.rootfs, join(rt.root, b.id), b.id), []);
  // and a regular file is refused the same way
  writeFileSync(join(dir, 'plain'), '');
  const plain = runcBundle(['true'], (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'ipc' ? { type: 'ipc', path: join(dir, 'plain') } : n));
  });
  assert.match(rt.run(['create', '--bundle', plain.dir, plain.id]).stderr, /plain is not a namespace file/);
});

test('an interrupted create (SIGTERM while a hook blocks) kills what it started and removes its state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-test-intr-'));
  temps.push(dir);
  const marker = join(dir, 'hook-ran');
  const b = runcBundle(['true'], (s) => {
    s.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${marker}; exec sleep 60`] }] };
  });
  const child = spawn(berthRuntimeBin, ['--root', rt.root, 'create', '--bundle', b.dir, b.id], { stdio: 'ignore', env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  for (let i = 0; i < 200 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(existsSync(marker), 'the hook started');
  child.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 1);
  assert.deepEqual(leftovers(b.rootfs, join(rt.root, b.id), b.id), []);
  assert.equal(rt.run(['state', b.id]).code, 3, 'not found');
});

test('no process.capabilities means no capabilities (not the runtime\'s own)', () => {
  const r = run(runcBundle(['grep', '-E', '^Cap(Eff|Prm|Bnd)', '/proc/self/status'], (s) => delete s.process!.capabilities));
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n').map((l) => l.split(/\s+/)[1]), ['0000000000000000', '0000000000000000', '0000000000000000']);
});

test('a cwd the rootfs lacks is created; /dev/ptmx exists without a /dev/pts mount', () => {
  const r = run(runcBundle(['sh', '-c', 'pwd; readlink /dev/ptmx'], (s) => {
    s.process!.cwd = '/app/deep';
    s.mounts = s.mounts!.filter((m) => m.destination !== '/dev/pts');
  }));
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n'), ['/app/deep', 'pts/ptmx']);
});

test('a device over an existing file is an error and the file is left as it was', () => {
  const b = runcBundle(['true'], (s) => {
    s.linux!.devices = [{ path: '/opt/mydev', type: 'c', major: 1, minor: 3 }];
  });
  execFileSync('mkdir', ['-p', join(b.rootfs, 'opt')]);
  writeFileSync(join(b.rootfs, 'opt/mydev'), 'precious');
  const r = run(b);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /linux\.devices\[0\]: .*mknod \/opt\/mydev: something else is at that path/);
  assert.equal(readFileSync(join(b.rootfs, 'opt/mydev'), 'utf8'), 'precious');
});

test('kill TERM of a created container ends it (its init is pid 1 of its namespace)', async () => {
  const b = runcBundle(['true']);
  assert.equal(rt.run(['create', '--bundle', b.dir, b.id]).code, 0);
  assert.equal(rt.run(['kill', b.id, 'TERM']).code, 0);
  let status = '';
  for (let i = 0; i < 100 && status !== 'stopped'; i++) {
    status = JSON.parse(rt.run(['state', b.id]).stdout).status;
    if (status !== 'stopped') await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(status, 'stopped');
  assert.equal(rt.run(['delete', b.id]).code, 0);
});

test('an unknown capability name is a warning, not a failure (as runc); the known ones apply', () => {
  const r = run(runcBundle(['grep', '^CapBnd', '/proc/self/status'], (s) => {
    s.process!.capabilities = { bounding: ['CAP_KILL', 'CAP_BOGUS'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] };
  }));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /warning: process\.capabilities: ignoring unknown or unavailable capabilities: CAP_BOGUS/);
  assert.equal(r.out.trim().split(/\s+/)[1], (1n << 5n).toString(16).padStart(16, '0'));
});
