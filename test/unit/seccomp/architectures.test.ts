import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BerthError } from '../../../src/oci/errors.ts';
import {
  AUDIT_ARCH,
  KNOWN_SECCOMP_ARCHITECTURES,
  SECCOMP_ARCHITECTURES,
  SECCOMP_RET,
  X32_SYSCALL_BIT,
  compileSeccomp,
  nativeSeccompArch,
  runFilter,
  seccompSyscallNumber,
} from '../../../src/runtime/seccomp/index.ts';
import { syscallTables } from '../../../src/runtime/seccomp/syscalls.generated.ts';

describe('seccomp architectures and syscall numbers', () => {
  it('supports the x86 ABIs from the installed headers', () => {
    for (const arch of ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']) assert.ok(SECCOMP_ARCHITECTURES.includes(arch), arch);
    for (const arch of SECCOMP_ARCHITECTURES) assert.ok(KNOWN_SECCOMP_ARCHITECTURES.includes(arch));
  });

  it('numbers every x32 syscall with __X32_SYSCALL_BIT and no x86_64 syscall with it', () => {
    for (const [name] of Object.entries(syscallTables.SCMP_ARCH_X32!)) {
      assert.ok(seccompSyscallNumber(name, 'SCMP_ARCH_X32')! >= X32_SYSCALL_BIT, name);
    }
    for (const [name] of Object.entries(syscallTables.SCMP_ARCH_X86_64!)) {
      assert.ok(seccompSyscallNumber(name, 'SCMP_ARCH_X86_64')! < X32_SYSCALL_BIT, name);
    }
    // x32 shares the common x86_64 numbers for most syscalls.
    assert.equal(seccompSyscallNumber('mkdir', 'SCMP_ARCH_X32'), (seccompSyscallNumber('mkdir', 'SCMP_ARCH_X86_64')! | X32_SYSCALL_BIT) >>> 0);
    assert.notEqual(seccompSyscallNumber('mkdir', 'SCMP_ARCH_X86'), seccompSyscallNumber('mkdir', 'SCMP_ARCH_X86_64'));
  });

  it('knows i386-only syscalls only on i386', () => {
    assert.notEqual(seccompSyscallNumber('socketcall', 'SCMP_ARCH_X86'), undefined);
    assert.equal(seccompSyscallNumber('socketcall', 'SCMP_ARCH_X86_64'), undefined);
  });

  it('returns undefined for unknown names, including Object.prototype ones', () => {
    for (const name of ['no_such_syscall', 'constructor', '__proto__', 'toString', '']) {
      assert.equal(seccompSyscallNumber(name, 'SCMP_ARCH_X86_64'), undefined, name);
    }
  });

  it('refuses an architecture without a table', () => {
    assert.throws(() => seccompSyscallNumber('read', 'SCMP_ARCH_MIPS'), (e) => e instanceof BerthError && e.kind === 'invalid-argument');
  });

  it('maps Node architectures to seccomp ones', () => {
    assert.equal(nativeSeccompArch('x64'), 'SCMP_ARCH_X86_64');
    assert.equal(nativeSeccompArch('ia32'), 'SCMP_ARCH_X86');
    assert.equal(nativeSeccompArch('arm64'), 'SCMP_ARCH_AARCH64');
    assert.throws(() => nativeSeccompArch('mips'), BerthError);
  });

  const haveArm64 = SECCOMP_ARCHITECTURES.includes('SCMP_ARCH_AARCH64');
  it('compiles for aarch64 when its headers were installed', { skip: haveArm64 ? false : 'no aarch64 kernel headers (linux-libc-dev-arm64-cross)' }, () => {
    const { program } = compileSeccomp(
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['openat'], action: 'SCMP_ACT_ALLOW', args: [{ index: 3, value: 2 ** 40, op: 'SCMP_CMP_LT' }] }] },
      { nativeArch: 'SCMP_ARCH_AARCH64' },
    );
    const openat = seccompSyscallNumber('openat', 'SCMP_ARCH_AARCH64')!;
    assert.equal(runFilter(program, { nr: openat, arch: AUDIT_ARCH.AARCH64, args: [0n, 0n, 0n, 5n] }), SECCOMP_RET.ALLOW);
    assert.equal(runFilter(program, { nr: openat, arch: AUDIT_ARCH.AARCH64, args: [0n, 0n, 0n, 2n ** 40n] }), (SECCOMP_RET.ERRNO | 1) >>> 0);
    assert.equal(runFilter(program, { nr: openat, arch: AUDIT_ARCH.X86_64 }), SECCOMP_RET.KILL_THREAD);
  });
});
