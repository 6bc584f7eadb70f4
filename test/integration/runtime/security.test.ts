// Security: capabilities, no_new_privs, seccomp in a container, sysctls, and the runtime CVE
// classes that must not come back.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, openSync, closeSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestBundle } from '../../support/bundle.ts';
import { berthRuntimeBin, leftovers, runCli } from '../../support/cli.ts';
import type { Spec } from '../../../src/oci/runtime-spec.ts';
import { SpawnSession } from '../../../src/sys/berth-spawn.ts';
import { runtimeSuite } from '../../support/runtime-suite.ts';

const { rt, bundles, newBundle, runIn } = runtimeSuite('sec');
const temps: string[] = [];
after(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});


function hostTemp(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-test-host-'));
  temps.push(d);
  return d;
}

test('capabilities: each set as configured; ambient reaches a non-root user', () => {
  const r = runIn('grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status', (s) => {
    s.process!.user = { uid: 1000, gid: 1000 };
    s.process!.capabilities = {
      bounding: ['CAP_NET_BIND_SERVICE', 'CAP_KILL', 'CAP_CHOWN'],
      permitted: ['CAP_NET_BIND_SERVICE', 'CAP_KILL'],
      effective: ['CAP_NET_BIND_SERVICE'],
      inheritable: ['CAP_NET_BIND_SERVICE'],
      ambient: ['CAP_NET_BIND_SERVICE'],
    };
  });
  assert.equal(r.code, 0, r.err);
  const caps = Object.fromEntries(r.out.trim().split('\n').map((l) => l.split(/:\s+/)));
  const bit = (n: number): string => (1n << BigInt(n)).toString(16).padStart(16, '0');
  assert.equal(caps.CapBnd, ((1n << 10n) | (1n << 5n) | 1n).toString(16).padStart(16, '0'));
  // after exec a non-root user keeps exactly the ambient set
  assert.equal(caps.CapAmb, bit(10));
  assert.equal(caps.CapEff, bit(10));
  assert.equal(caps.CapPrm, bit(10));
  assert.equal(caps.CapInh, bit(10));
});

test('no_new_privs stops setuid binaries from gaining privileges', () => {
  // busybox drops setuid privileges itself, so a tiny static program reports the effective uid
  const src = join(hostTemp(), 'euid.c');
  writeFileSync(src, '#include <stdio.h>\n#include <unistd.h>\nint main(void){printf("%d\\n",(int)geteuid());return 0;}\n');
  const bin = join(hostTemp(), 'euid');
  execFileSync('gcc', ['-static', '-O1', '-o', bin, src]);
  const suid = (b: TestBundle): void => {
    mkdirSync(join(b.rootfs, 'suid'));
    copyFileSync(bin, join(b.rootfs, 'suid/euid'));
    chmodSync(join(b.rootfs, 'suid/euid'), 0o4755);
  };
  const user = (s: Spec): void => void (s.process!.user = { uid: 1000, gid: 1000 });
  assert.equal(runIn('/suid/euid', user, suid).out.trim(), '1000');
  assert.equal(runIn('/suid/euid', (s) => { user(s); s.process!.noNewPrivileges = false; }, suid).out.trim(), '0', 'without no_new_privs setuid works');
});

test('seccomp: a denied syscall fails with the configured errno; an argument condition matters', () => {
  const r = runIn('mkdir /tmp/a 2>&1; echo "mkdir=$?"; chmod 0700 /tmp 2>&1; echo "chmod700=$?"; chmod 0755 /tmp; echo "chmod755=$?"', (s) => {
    s.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
    s.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 95 },
        { names: ['chmod', 'fchmodat', 'fchmodat2'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 1, value: 0o700, op: 'SCMP_CMP_EQ' }] },
      ],
    };
  });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Operation not supported\nmkdir=1/, 'EOPNOTSUPP (95)');
  assert.match(r.out, /Operation not permitted\nchmod700=1/);
  assert.match(r.out, /chmod755=0/);
});

test('seccomp: a KILL action kills the process', () => {
  const r = runIn('true; uname -a; echo survived', (s) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['uname'], action: 'SCMP_ACT_KILL_PROCESS' }] };
    s.process!.args = ['uname', '-a'];
  });
  assert.equal(r.code, 128 + 31, 'SIGSYS');
});

test('sysctls: namespaced ones are applied; host-wide and smuggled ones refused', () => {
  const ok = runIn('cat /proc/sys/kernel/shmmni /proc/sys/net/ipv4/ip_forward', (s) => (s.linux!.sysctl = { 'kernel.shmmni': '1234', 'net.ipv4.ip_forward': '1' }));
  assert.equal(ok.code, 0, ok.err);
  assert.deepEqual(ok.out.trim().split('\n'), ['1234', '1']);
  assert.notEqual(readFileSync('/proc/sys/kernel/shmmni', 'utf8').trim(), '1234', 'the host keeps its value');
  const hostWide = runIn('true', (s) => (s.linux!.sysctl = { 'kernel.core_pattern': '|/tmp/x' }));
  assert.match(hostWide.err, /linux\.sysctl\.kernel\.core_pattern: "kernel\.core_pattern" is not namespaced/);
  const smuggled = runIn('true', (s) => (s.linux!.sysctl = { 'kernel.shm_rmid_forced': '1+kernel.core_pattern=|/tmp/x' }));
  assert.match(smuggled.err, /linux\.sysctl\.kernel\.shm_rmid_forced: value .* has characters/);
  const newline = runIn('true', (s) => (s.linux!.sysctl = { 'net.ipv4.ip_forward': '1\nkernel.core_pattern=x' }));
  assert.match(newline.err, /has characters/);
  const noNetns = runIn('true', (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network');
    s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
  });
  assert.match(noNetns.err, /needs the container's own network namespace/);
});

test('an LSM label is refused clearly (this kernel has none); empty is fine', () => {
  assert.equal(runIn('true', (s) => (s.process!.apparmorProfile = '')).code, 0);
  const r = runIn('true', (s) => (s.process!.apparmorProfile = 'docker-default'));
  assert.match(r.err, /process\.apparmorProfile: this kernel has no LSM enabled; "docker-default" can't be applied/);
  assert.match(runIn('true', (s) => (s.linux!.mountLabel = 'system_u:object_r:x')).err, /linux\.mountLabel/);
});

test('personality LINUX32 makes uname report a 32-bit machine', () => {
  const r = runIn('uname -m', (s) => (s.linux!.personality = { domain: 'LINUX32' }));
  assert.equal(r.out.trim(), 'i686');
});

test('CVE-2019-5736: berth-spawn runs from a sealed copy; its binary can\'t be written through /proc/<pid>/exe', async () => {
  const session = new SpawnSession([{ kind: 'sync', point: 'hold', last: false }]);
  try {
    const m = await session.next();
    assert.deepEqual(m, { type: 'sync', point: 'hold' });
    const pid = session.pid!;
    assert.match(readlinkSync(`/proc/${pid}/exe`), /^\/memfd:berth-spawn/);
    assert.throws(() => closeSync(openSync(`/proc/${pid}/exe`, 'r+')), /ETXTBSY|EPERM|EACCES/);
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:/m);
  } finally {
    session.close();
    await session.exited;
  }
});

test('CVE-2024-21626: no runtime fd reaches the container, and a cwd through a leaked fd is refused', () => {
  const r = runIn('ls /proc/self/fd | sort -n | tr "\\n" " "');
  assert.equal(r.out.trim(), '0 1 2 3', 'stdio plus the fd ls itself opened');
  const bad = runIn('pwd', (s) => (s.process!.cwd = '/proc/self/fd/5'));
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /process\.cwd/);
  const exec = newBundle(['sleep', '30']);
  rt.ok(['run', '-d', '--bundle', exec.dir, 'sec-fds']);
  assert.equal(rt.ok(['exec', 'sec-fds', 'sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "']).trim(), '0 1 2 3');
  rt.ok(['delete', '-f', 'sec-fds']);
});

test('stdio that is the host\'s /dev/null is replaced by the container\'s own', () => {
  const b = newBundle(['sh', '-c', 'stat -L -c "%d:%i" /proc/self/fd/0 /dev/null']);
  const r = runCli(berthRuntimeBin, ['--root', rt.root, 'run', '--bundle', b.dir, 'sec-devnull'], { stdinFile: '/dev/null' });
  const [stdin, devNull] = r.stdout.trim().split('\n');
  assert.equal(stdin, devNull);
});

test('CVE-2021-30465: swapping a mount target for a symlink during create never mounts outside the rootfs', async () => {
  const outside = hostTemp();
  writeFileSync(join(outside, 'canary'), 'host');
  const b = newBundle(['true'], (s) => {
    for (let i = 0; i < 20; i++) s.mounts!.push({ destination: `/race/m${i}`, type: 'tmpfs', source: 'tmpfs' });
  });
  const race = join(b.rootfs, 'race');
  mkdirSync(race);
  let stop = false;
  // Flip /race between a real directory and a symlink to the host dir as fast as we can.
  const flipper = (async () => {
    const link = join(b.rootfs, 'race-link');
    const dir = join(b.rootfs, 'race-dir');
    mkdirSync(dir);
    symlinkSync(outside, link);
    while (!stop) {
      try {
        renameSync(race, join(b.rootfs, 'race-tmp'));
        renameSync(link, race);
        renameSync(join(b.rootfs, 'race-tmp'), link);
      } catch {
        // a create in progress may hold it
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  try {
    for (let i = 0; i < 15; i++) await new Promise<void>((res) => { rt.run(['run', '--bundle', b.dir, `race-${i}`]); res(); });
  } finally {
    stop = true;
    await flipper;
  }
  assert.deepEqual(readdirSync(outside), ['canary'], 'nothing was created in the host directory');
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(outside), false, 'nothing is mounted on it');
});

test('CVE-2025-31133: a /dev/null that is a symlink does not turn masking into a writable host bind', () => {
  const hostFile = join(hostTemp(), 'secret');
  writeFileSync(hostFile, 'host secret\n');
  const devDir = hostTemp();
  chmodSync(devDir, 0o755);
  symlinkSync(hostFile, join(devDir, 'null'));
  const r = runIn(
    'cat /proc/kcore',
    (s) => {
      // /dev is bound from a directory the attacker controls: berth creates no devices there.
      s.mounts = s.mounts!.filter((m) => !m.destination.startsWith('/dev'));
      s.mounts.push({ destination: '/dev', type: 'bind', source: devDir, options: ['rbind'] });
      s.linux!.maskedPaths = ['/proc/timer_list'];
      s.linux!.readonlyPaths = [];
    },
  );
  assert.notEqual(r.code, 0);
  assert.match(r.err, /linux\.maskedPaths\[0\]: mask \/proc\/timer_list: \/dev\/null is not the null device/);
  assert.equal(readFileSync(hostFile, 'utf8'), 'host secret\n');
});

test('CVE-2026-41579: an image whose /dev is a symlink can\'t make the runtime create or delete host files', () => {
  const target = hostTemp();
  writeFileSync(join(target, 'null'), 'keep me');
  writeFileSync(join(target, 'canary'), 'keep me too');
  const r = runIn('ls /dev >/dev/null; echo ok', () => {}, (b) => {
    rmSync(join(b.rootfs, 'dev'), { recursive: true });
    symlinkSync(target, join(b.rootfs, 'dev'));
  });
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(readdirSync(target).sort(), ['canary', 'null']);
  assert.equal(readFileSync(join(target, 'null'), 'utf8'), 'keep me');
  assert.ok(existsSync(join(r.b.rootfs, target)), 'the symlink target was made inside the rootfs');
  // and a relative symlink climbing out
  const r2 = runIn('echo ok', () => {}, (b) => {
    rmSync(join(b.rootfs, 'dev'), { recursive: true });
    symlinkSync(`../../../../../../../..${target}`, join(b.rootfs, 'dev'));
  });
  assert.equal(r2.code, 0, r2.err);
  assert.deepEqual(readdirSync(target).sort(), ['canary', 'null']);
});

test('CVE-2019-16884: no mount over /proc files; /proc must be procfs', () => {
  const over = runIn('true', (s) => s.mounts!.push({ destination: '/proc/self/attr', type: 'tmpfs', source: 'tmpfs' }));
  assert.match(over.err, /mounts\[7\]\.destination: mounting over \/proc\/self\/attr is not allowed/);
  const fake = runIn('true', (s) => (s.mounts![0] = { destination: '/proc', type: 'tmpfs', source: 'tmpfs' }));
  assert.match(fake.err, /mounts\[0\]\.destination: only a proc filesystem may be mounted on \/proc/);
  // a sysctl write goes only to procfs: with /proc/sys shadowed by a bind, it is refused
  const shadow = hostTemp();
  mkdirSync(join(shadow, 'kernel'));
  writeFileSync(join(shadow, 'kernel', 'shmmni'), '1\n');
  const r = runIn('true', (s) => {
    s.mounts!.push({ destination: '/proc/sys', type: 'bind', source: shadow, options: ['rbind'] });
    s.linux!.sysctl = { 'kernel.shmmni': '1234' };
  });
  assert.match(r.err, /mounting over \/proc\/sys is not allowed/);
  assert.equal(readFileSync(join(shadow, 'kernel', 'shmmni'), 'utf8'), '1\n');
  for (const b of bundles) assert.deepEqual(leftovers(b.rootfs), []);
});
