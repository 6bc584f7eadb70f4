// berth's default seccomp profile, resolved for a container and compiled to BPF, evaluated with
// the BPF interpreter: what a static program needs runs, what a container must not do fails with
// EPERM (clone3 with ENOSYS, so that libc falls back to clone), and the capability-conditional
// groups follow the container's bounding set. Also docker's profile format: resolution and errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BerthError } from '../../../src/oci/errors.ts';
import type { Seccomp } from '../../../src/oci/runtime-spec.ts';
import { DEFAULT_CONTAINER_CAPABILITIES } from '../../../src/runtime/default-spec.ts';
import { CLONE_NAMESPACE_FLAGS, DEFAULT_SECCOMP_PROFILE, defaultSeccompProfile } from '../../../src/runtime/seccomp/default-profile.ts';
import { kernelVersion, parseDockerProfile, resolveDockerProfile, type SeccompTarget } from '../../../src/runtime/seccomp/docker-profile.ts';
import { AUDIT_ARCH, SECCOMP_RET, compileSeccomp, runFilter, seccompSyscallNumber } from '../../../src/runtime/seccomp/index.ts';
import { syscallTables } from '../../../src/runtime/seccomp/syscalls.generated.ts';
import { expectedAction, type Call } from './reference-model.ts';

const X86_64 = 'SCMP_ARCH_X86_64';
const ERRNO = (e: number): number => (SECCOMP_RET.ERRNO | e) >>> 0;
const EPERM = 1;
const ENOSYS = 38;

const target = (extra: Partial<SeccompTarget> = {}): SeccompTarget => ({
  nodeArch: 'x64',
  capabilities: DEFAULT_CONTAINER_CAPABILITIES,
  kernelRelease: '6.1.0-18-amd64',
  ...extra,
});

function filterFor(profile: Seccomp): (name: string, args?: (bigint | number)[], arch?: string) => number {
  const { program } = compileSeccomp(profile, { nativeArch: X86_64 });
  return (name, args = [], arch = X86_64) => {
    const nr = seccompSyscallNumber(name, arch);
    assert.notEqual(nr, undefined, `${name} on ${arch}`);
    return runFilter(program, { nr: nr!, arch: arch === 'SCMP_ARCH_X86' ? AUDIT_ARCH.I386 : AUDIT_ARCH.X86_64, args });
  };
}

// CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
// CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID: what pthread_create passes.
const THREAD_FLAGS = 0x3d0f00;
const SIGCHLD = 17;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNS = 0x00020000;
const ADDR_NO_RANDOMIZE = 0x0040000;
const AF_INET = 2;
const AF_VSOCK = 40;

describe('the default profile for a container with the default capabilities', () => {
  const profile = defaultSeccompProfile(target());
  const call = filterFor(profile);

  it('covers x86_64, i386 and x32 and denies the rest with EPERM', () => {
    assert.deepEqual(profile.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(profile.defaultErrnoRet, EPERM);
  });

  it('allows what a static `true` and busybox make from execve to exit_group (strace of glibc 2.36 binaries)', () => {
    const startup = ['execve', 'brk', 'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'readlink', 'getrandom', 'mprotect', 'getuid', 'prctl', 'exit_group'];
    for (const name of startup) assert.equal(call(name), SECCOMP_RET.ALLOW, name);
    // The same calls from an i386 program.
    for (const name of ['execve', 'brk', 'set_thread_area', 'mmap2', 'exit_group']) assert.equal(call(name, [], 'SCMP_ARCH_X86'), SECCOMP_RET.ALLOW, `i386 ${name}`);
  });

  it('allows threads and processes through clone, but no new namespaces', () => {
    assert.equal(call('clone', [THREAD_FLAGS]), SECCOMP_RET.ALLOW);
    assert.equal(call('clone', [SIGCHLD]), SECCOMP_RET.ALLOW);
    assert.equal(call('clone', [CLONE_NEWUSER | SIGCHLD]), ERRNO(EPERM));
    assert.equal(call('clone', [CLONE_NEWNS | SIGCHLD]), ERRNO(EPERM));
    // Bits above the low 32 do not hide a namespace flag.
    assert.equal(call('clone', [(1n << 40n) | BigInt(CLONE_NEWUSER)]), ERRNO(EPERM));
    assert.equal(call('clone3'), ERRNO(ENOSYS));
    assert.equal(call('unshare', [CLONE_NEWUSER]), ERRNO(EPERM));
    assert.equal(call('unshare', [0]), ERRNO(EPERM));
    assert.equal(call('setns'), ERRNO(EPERM));
  });

  it('denies the calls a container has no business making', () => {
    for (const name of ['add_key', 'keyctl', 'request_key', 'perf_event_open', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'mount', 'umount2', 'bpf', 'kexec_load', 'init_module', 'reboot', 'swapon', 'open_by_handle_at', 'userfaultfd', 'settimeofday']) {
      assert.equal(call(name), ERRNO(EPERM), name);
    }
  });

  it('filters personality and socket by argument', () => {
    assert.equal(call('personality', [ADDR_NO_RANDOMIZE]), ERRNO(EPERM));
    for (const v of [0, 8, 0x20000, 0x20008, 0xffffffff]) assert.equal(call('personality', [v]), SECCOMP_RET.ALLOW, `personality 0x${v.toString(16)}`);
    assert.equal(call('personality', [0xffffffffffffffffn]), ERRNO(EPERM), 'a sign-extended -1 is not the query');
    assert.equal(call('socket', [AF_INET]), SECCOMP_RET.ALLOW);
    assert.equal(call('socket', [AF_VSOCK]), ERRNO(EPERM));
  });

  it('allows what the default capabilities make useful, and ptrace on kernels since 4.8', () => {
    assert.equal(call('chroot'), SECCOMP_RET.ALLOW, 'CAP_SYS_CHROOT');
    assert.equal(call('ptrace'), SECCOMP_RET.ALLOW);
    const old = filterFor(defaultSeccompProfile(target({ kernelRelease: '4.4.0-210-generic' })));
    assert.equal(old('ptrace'), ERRNO(EPERM));
  });

  it('answers ENOSYS above the highest syscall it names, so libc falls back from newer calls', () => {
    const { program } = compileSeccomp(profile, { nativeArch: X86_64 });
    const highest = Math.max(...Object.values(syscallTables[X86_64]!));
    assert.equal(runFilter(program, { nr: highest + 100, arch: AUDIT_ARCH.X86_64 }), ERRNO(ENOSYS));
  });

  it('compiles to what the reference model says for every syscall on all three ABIs', () => {
    const calls: Call[] = [];
    for (const arch of ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']) {
      const audit = arch === 'SCMP_ARCH_X86' ? AUDIT_ARCH.I386 : AUDIT_ARCH.X86_64;
      for (const nr of Object.values(syscallTables[arch]!)) {
        for (const args of [[0n], [BigInt(CLONE_NEWUSER)], [40n], [0xffffffffn], [BigInt(THREAD_FLAGS)]]) calls.push({ arch: audit, nr, args });
      }
    }
    const { program, length } = compileSeccomp(profile, { nativeArch: X86_64 });
    assert.ok(length < 4096, `${length} instructions`);
    for (const c of calls) {
      const got = runFilter(program, c);
      const want = expectedAction(profile, X86_64, c, true);
      if (got !== want) assert.fail(`arch 0x${c.arch.toString(16)} nr ${c.nr} args ${c.args}: got 0x${got.toString(16)}, want 0x${want.toString(16)}`);
    }
  });
});

describe('the default profile follows the capabilities', () => {
  it('with CAP_SYS_ADMIN: mount, unshare, namespaces through clone, clone3', () => {
    const call = filterFor(defaultSeccompProfile(target({ capabilities: [...DEFAULT_CONTAINER_CAPABILITIES, 'CAP_SYS_ADMIN'] })));
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone3', 'perf_event_open', 'bpf']) assert.equal(call(name), SECCOMP_RET.ALLOW, name);
    assert.equal(call('clone', [CLONE_NEWUSER | SIGCHLD]), SECCOMP_RET.ALLOW);
    // Capabilities do not open what no capability would.
    assert.equal(call('add_key'), ERRNO(EPERM));
    assert.equal(call('io_uring_setup'), ERRNO(EPERM));
  });

  it('each capability-conditional group needs its capability', () => {
    const groups: [string, string][] = [
      ['CAP_SYS_PTRACE', 'kcmp'], ['CAP_SYS_MODULE', 'finit_module'], ['CAP_SYS_BOOT', 'reboot'], ['CAP_SYS_TIME', 'settimeofday'],
      ['CAP_SYS_RAWIO', 'iopl'], ['CAP_DAC_READ_SEARCH', 'open_by_handle_at'], ['CAP_SYS_PACCT', 'acct'], ['CAP_SYS_NICE', 'mbind'],
      ['CAP_SYS_TTY_CONFIG', 'vhangup'], ['CAP_SYSLOG', 'syslog'], ['CAP_BPF', 'bpf'], ['CAP_PERFMON', 'perf_event_open'],
    ];
    for (const [cap, name] of groups) {
      assert.equal(filterFor(defaultSeccompProfile(target()))(name), ERRNO(EPERM), `${name} without ${cap}`);
      assert.equal(filterFor(defaultSeccompProfile(target({ capabilities: [cap] })))(name), SECCOMP_RET.ALLOW, `${name} with ${cap}`);
    }
    // Without CAP_SYS_CHROOT (not in the default set here), chroot is denied.
    assert.equal(filterFor(defaultSeccompProfile(target({ capabilities: ['CAP_KILL'] })))('chroot'), ERRNO(EPERM));
  });

  it('picks the architectures and arch-only calls of the machine', () => {
    const arm = defaultSeccompProfile(target({ nodeArch: 'arm64' }));
    assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    const names = (p: Seccomp): string[] => p.syscalls!.flatMap((s) => s.names);
    assert.ok(names(arm).includes('cacheflush') && !names(arm).includes('arch_prctl'));
    assert.ok(names(defaultSeccompProfile(target())).includes('arch_prctl'));
  });
});

describe("docker's profile format", () => {
  const source = 'profile.json';
  const errorOf = (json: unknown): BerthError => {
    try {
      parseDockerProfile(json, source);
    } catch (err) {
      assert.ok(err instanceof BerthError, String(err));
      return err;
    }
    assert.fail('expected an error');
  };

  it('the default profile is valid in that format, and resolves like any file would', () => {
    const reparsed = parseDockerProfile(JSON.parse(JSON.stringify(DEFAULT_SECCOMP_PROFILE)), source);
    assert.deepEqual(resolveDockerProfile(reparsed, target()), defaultSeccompProfile(target()));
  });

  it('resolves `name`, archMap, includes and excludes; an OCI profile resolves to itself', () => {
    const docker = parseDockerProfile(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }, { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: null }],
        syscalls: [
          { name: 'mkdir', action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: null, includes: {}, excludes: {} },
          { names: ['chmod'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } },
          { names: ['chown'], action: 'SCMP_ACT_ERRNO', excludes: { minKernel: '5.0' } },
          { names: ['fchown'], action: 'SCMP_ACT_ERRNO', includes: { arches: ['arm64'] } },
        ],
      },
      source,
    );
    assert.deepEqual(resolveDockerProfile(docker, target()), {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    });
    assert.deepEqual(resolveDockerProfile(docker, target({ kernelRelease: '4.19.0' }))!.syscalls!.map((s) => s.names[0]), ['mkdir', 'chown']);
    const oci: Seccomp = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }] };
    assert.deepEqual(resolveDockerProfile(parseDockerProfile(structuredClone(oci), source), target()), oci);
    assert.equal(resolveDockerProfile(parseDockerProfile({ defaultAction: '', syscalls: [] }, source), target()), undefined, 'no action, no rules: no filter');
  });

  it('names the field of the file that is wrong', () => {
    const cases: [unknown, RegExp][] = [
      [[], /profile\.json: the profile must be an object/],
      [{ syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }, /profile\.json: defaultAction is required/],
      [{ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], archMap: [{ architecture: 'SCMP_ARCH_X86_64' }] }, /either "architectures" or "archMap"/],
      [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { name: 'write', names: ['write'], action: 'SCMP_ACT_ALLOW' }] }, /syscalls\[1\] gives both "name" and "names"/],
      [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['write'], action: 'SCMP_ACT_MAYBE' }] }, /profile\.json: syscalls\[1\]\.action: unknown seccomp action "SCMP_ACT_MAYBE"/],
      [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 7, value: 0, op: 'SCMP_CMP_EQ' }] }] }, /syscalls\[0\]\.args\[0\]\.index: syscall argument index must be 0 to 5/],
      [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: 'new' } }] }, /syscalls\[0\]\.includes\.minKernel must be a kernel version/],
      [{ defaultAction: 'SCMP_ACT_ERRNO', archMap: [{ architecture: 'SCMP_ARCH_Z80' }] }, /profile\.json: archMap\[0\]\[0\]: unknown seccomp architecture/],
      [{ defaultAction: 'SCMP_ACT_BOGUS' }, /profile\.json: defaultAction: unknown seccomp action/],
    ];
    for (const [json, re] of cases) {
      const err = errorOf(json);
      assert.equal(err.kind, 'invalid-argument', err.message);
      assert.match(err.message, re);
    }
  });

  it('reads kernel releases as distributions spell them', () => {
    assert.deepEqual(kernelVersion('6.1.0-18-amd64'), [6, 1, 0]);
    assert.deepEqual(kernelVersion('4.8'), [4, 8, 0]);
    assert.deepEqual(kernelVersion('5.15.153.1-microsoft-standard-WSL2'), [5, 15, 153]);
    assert.equal(CLONE_NAMESPACE_FLAGS, 2114060288, "the mask docker's profile writes in decimal");
  });
});
