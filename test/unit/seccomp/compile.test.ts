import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BerthError } from '../../../src/oci/errors.ts';
import type { Seccomp, SeccompArg, SeccompOperator } from '../../../src/oci/runtime-spec.ts';
import {
  AUDIT_ARCH,
  SECCOMP_FILTER_FLAG,
  SECCOMP_RET,
  X32_SYSCALL_BIT,
  compileSeccomp,
  decodeProgram,
  runFilter,
  seccompConfigured,
  seccompProgramProblem,
  seccompSyscallNumber,
} from '../../../src/runtime/seccomp/index.ts';
import { syscallTables } from '../../../src/runtime/seccomp/syscalls.generated.ts';
import { expectedAction, type Call } from './reference-model.ts';

const X86_64 = 'SCMP_ARCH_X86_64';
const X86 = 'SCMP_ARCH_X86';
const X32 = 'SCMP_ARCH_X32';
const ERRNO = (e: number): number => (SECCOMP_RET.ERRNO | e) >>> 0;
const EPERM = 1;
const ENOSYS = 38;

function nr(name: string, arch = X86_64): number {
  const n = seccompSyscallNumber(name, arch);
  assert.notEqual(n, undefined, `${name} on ${arch}`);
  return n!;
}

const auditOf = (arch: string): number => (arch === X86 ? AUDIT_ARCH.I386 : AUDIT_ARCH.X86_64);

function run(profile: Seccomp, arch: string, name: string, args: bigint[] = []): number {
  const { program } = compileSeccomp(profile, { nativeArch: X86_64 });
  return runFilter(program, { nr: nr(name, arch), arch: auditOf(arch), args });
}

/** Checks the compiled program against the reference model on every call given. */
function agreesWithModel(profile: Seccomp, calls: Call[], opts: { enosys?: boolean } = {}): void {
  const { program } = compileSeccomp(profile, { nativeArch: X86_64, enosysForNewerSyscalls: opts.enosys ?? true });
  for (const call of calls) {
    const got = runFilter(program, call);
    const want = expectedAction(profile, X86_64, call, opts.enosys ?? true);
    if (got !== want) {
      assert.fail(`arch 0x${call.arch.toString(16)} nr ${call.nr} args [${call.args?.join(', ')}]: got 0x${got.toString(16)}, want 0x${want.toString(16)}`);
    }
  }
}

function fieldOf(fn: () => unknown): { kind: string; field: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BerthError, `expected BerthError, got ${String(err)}`);
    return { kind: err.kind, field: err.where.field, message: err.message };
  }
  assert.fail('expected an error');
}

describe('compileSeccomp: actions', () => {
  const actions: [string, number | undefined, number][] = [
    ['SCMP_ACT_ALLOW', undefined, SECCOMP_RET.ALLOW],
    ['SCMP_ACT_LOG', undefined, SECCOMP_RET.LOG],
    ['SCMP_ACT_KILL', undefined, SECCOMP_RET.KILL_THREAD],
    ['SCMP_ACT_KILL_THREAD', undefined, SECCOMP_RET.KILL_THREAD],
    ['SCMP_ACT_KILL_PROCESS', undefined, SECCOMP_RET.KILL_PROCESS],
    ['SCMP_ACT_TRAP', undefined, SECCOMP_RET.TRAP],
    ['SCMP_ACT_ERRNO', undefined, ERRNO(EPERM)],
    ['SCMP_ACT_ERRNO', 13, ERRNO(13)],
    ['SCMP_ACT_ERRNO', 0, ERRNO(0)],
    ['SCMP_ACT_TRACE', undefined, (SECCOMP_RET.TRACE | EPERM) >>> 0],
    ['SCMP_ACT_TRACE', 77, (SECCOMP_RET.TRACE | 77) >>> 0],
  ];
  for (const [action, errnoRet, want] of actions) {
    it(`${action}${errnoRet === undefined ? '' : ` errnoRet ${errnoRet}`} as a rule and as the default`, () => {
      const other = action === 'SCMP_ACT_ALLOW' ? 'SCMP_ACT_KILL_PROCESS' : 'SCMP_ACT_ALLOW';
      const rule: Seccomp = {
        defaultAction: other as Seccomp['defaultAction'],
        syscalls: [{ names: ['mkdir'], action: action as Seccomp['defaultAction'], ...(errnoRet === undefined ? {} : { errnoRet }) }],
      };
      assert.equal(run(rule, X86_64, 'mkdir'), want);
      assert.equal(run(rule, X86_64, 'getpid'), other === 'SCMP_ACT_ALLOW' ? SECCOMP_RET.ALLOW : SECCOMP_RET.KILL_PROCESS);
      const dflt: Seccomp = {
        defaultAction: action as Seccomp['defaultAction'],
        ...(errnoRet === undefined ? {} : { defaultErrnoRet: errnoRet }),
        syscalls: [{ names: ['getpid'], action: other as Seccomp['defaultAction'] }],
      };
      assert.equal(run(dflt, X86_64, 'mkdir'), want);
    });
  }

  it('returns the default action for a syscall no rule names', () => {
    const p: Seccomp = { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 5, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };
    assert.equal(run(p, X86_64, 'read'), SECCOMP_RET.ALLOW);
    assert.equal(run(p, X86_64, 'write'), ERRNO(5));
  });

  it('works with no syscalls at all', () => {
    const p: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW' };
    assert.equal(run(p, X86_64, 'mkdir'), SECCOMP_RET.ALLOW);
    assert.equal(runFilter(compileSeccomp(p, { nativeArch: X86_64 }).program, { nr: 0, arch: 0x1234 }), SECCOMP_RET.KILL_THREAD);
  });
});

describe('compileSeccomp: architectures', () => {
  const allowMkdir = (architectures?: string[]): Seccomp => ({
    defaultAction: 'SCMP_ACT_ERRNO',
    ...(architectures ? { architectures } : {}),
    syscalls: [{ names: ['mkdir', 'getpid'], action: 'SCMP_ACT_ALLOW' }],
  });

  it('always includes the native architecture', () => {
    const c = compileSeccomp(allowMkdir(), { nativeArch: X86_64 });
    assert.deepEqual(c.architectures, [X86_64]);
    assert.equal(runFilter(c.program, { nr: nr('mkdir'), arch: AUDIT_ARCH.X86_64 }), SECCOMP_RET.ALLOW);
  });

  it('kills x32 and i386 calls when only X86_64 is listed, whatever the number', () => {
    const { program } = compileSeccomp(allowMkdir([X86_64]), { nativeArch: X86_64 });
    for (const n of [nr('mkdir', X32), nr('getpid', X32), X32_SYSCALL_BIT, X32_SYSCALL_BIT + 1, 0x7fffffff, 0xffffffff]) {
      assert.equal(runFilter(program, { nr: n, arch: AUDIT_ARCH.X86_64 }), SECCOMP_RET.KILL_THREAD, `x32 nr 0x${n.toString(16)}`);
    }
    assert.equal(runFilter(program, { nr: nr('mkdir', X86), arch: AUDIT_ARCH.I386 }), SECCOMP_RET.KILL_THREAD);
    // The highest x86_64 number is still x86_64, not x32.
    assert.equal(runFilter(program, { nr: X32_SYSCALL_BIT - 1, arch: AUDIT_ARCH.X86_64 }), ERRNO(ENOSYS));
  });

  it('checks x32 and i386 calls against their own syscall numbers when listed', () => {
    const { program } = compileSeccomp(allowMkdir([X86_64, X86, X32]), { nativeArch: X86_64 });
    assert.equal(runFilter(program, { nr: nr('mkdir', X32), arch: AUDIT_ARCH.X86_64 }), SECCOMP_RET.ALLOW);
    assert.equal(runFilter(program, { nr: nr('mkdir', X86), arch: AUDIT_ARCH.I386 }), SECCOMP_RET.ALLOW);
    // i386 mkdir's number is some other x86_64 syscall, and vice versa.
    assert.notEqual(nr('mkdir', X86), nr('mkdir'));
    assert.equal(runFilter(program, { nr: nr('mkdir', X86), arch: AUDIT_ARCH.X86_64 }), expectedAction(allowMkdir([X86_64, X86, X32]), X86_64, { nr: nr('mkdir', X86), arch: AUDIT_ARCH.X86_64 }));
    assert.equal(runFilter(program, { nr: nr('read', X32), arch: AUDIT_ARCH.X86_64 }), ERRNO(EPERM));
  });

  it('lists x32 alone: x86_64 numbers stay with the native arch', () => {
    const p = allowMkdir([X32]);
    const { program } = compileSeccomp(p, { nativeArch: X86_64 });
    assert.equal(runFilter(program, { nr: nr('mkdir'), arch: AUDIT_ARCH.X86_64 }), SECCOMP_RET.ALLOW);
    assert.equal(runFilter(program, { nr: nr('mkdir', X32), arch: AUDIT_ARCH.X86_64 }), SECCOMP_RET.ALLOW);
  });

  it('gives an unknown AUDIT_ARCH the bad-arch action (kill thread)', () => {
    const c = compileSeccomp(allowMkdir([X86_64, X86, X32]), { nativeArch: X86_64 });
    assert.equal(c.badArchAction, SECCOMP_RET.KILL_THREAD);
    for (const arch of [AUDIT_ARCH.AARCH64, 0, 0x40000028 /* ARM */, 0xffffffff]) {
      assert.equal(runFilter(c.program, { nr: nr('mkdir'), arch }), SECCOMP_RET.KILL_THREAD);
    }
  });

  it('skips a known architecture berth has no table for, and reports it', () => {
    const c = compileSeccomp(allowMkdir([X86_64, 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390X']), { nativeArch: X86_64 });
    assert.deepEqual(c.skippedArchitectures, ['SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390X']);
    assert.deepEqual(c.architectures, [X86_64]);
  });

  it('compiles for i386 as the native architecture', () => {
    const p = allowMkdir();
    const { program } = compileSeccomp(p, { nativeArch: X86 });
    assert.equal(runFilter(program, { nr: nr('mkdir', X86), arch: AUDIT_ARCH.I386 }), SECCOMP_RET.ALLOW);
    assert.equal(runFilter(program, { nr: nr('mkdir'), arch: AUDIT_ARCH.X86_64 }), SECCOMP_RET.KILL_THREAD);
  });

  it('refuses an unknown architecture name, naming the field', () => {
    const e = fieldOf(() => compileSeccomp(allowMkdir([X86_64, 'SCMP_ARCH_Z80']), { nativeArch: X86_64 }));
    assert.equal(e.kind, 'invalid-argument');
    assert.equal(e.field, 'linux.seccomp.architectures[1]');
  });

  it('refuses a native architecture without a table', () => {
    assert.equal(fieldOf(() => compileSeccomp(allowMkdir(), { nativeArch: 'SCMP_ARCH_MIPS' })).kind, 'invalid-argument');
  });
});

describe('compileSeccomp: argument conditions', () => {
  const ops: SeccompOperator[] = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT'];
  const values: bigint[] = [
    0n, 1n, 2n, 0x7fffffffn, 0x80000000n, 0xfffffffen, 0xffffffffn, 0x100000000n, 0x100000001n, 0x1ffffffffn,
    0x123456789abcdefn, 0x7fffffffffffffffn, 0x8000000000000000n, 0xfffffffffffffffen, 0xffffffffffffffffn,
  ];
  const probes = (v: bigint): bigint[] => {
    const around = [v - 1n, v, v + 1n, v ^ 0x100000000n, v ^ 1n, v & 0xffffffffn, v | 0xffffffff00000000n, 0n, 0xffffffffffffffffn];
    return around.map((x) => BigInt.asUintN(64, x));
  };
  const calls = (args: (v: bigint) => bigint[][], v: bigint): Call[] =>
    args(v).flatMap((a) => [
      { arch: AUDIT_ARCH.X86_64, nr: nr('personality'), args: a },
      { arch: AUDIT_ARCH.X86_64, nr: nr('personality', X32), args: a },
      { arch: AUDIT_ARCH.I386, nr: nr('personality', X86), args: a },
    ]);

  for (const op of ops) {
    it(`${op} at the boundaries of 64-bit values, on x86_64, x32 and i386`, () => {
      for (const value of values) {
        for (const index of [0, 5]) {
          const profile: Seccomp = {
            defaultAction: 'SCMP_ACT_ERRNO',
            architectures: [X86_64, X86, X32],
            syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index, op, value: value as unknown as number }] }],
          };
          agreesWithModel(profile, calls((v) => probes(v).map((p) => { const a = [0n, 0n, 0n, 0n, 0n, 0n]; a[index] = p; return a; }), value));
        }
      }
    });
  }

  it('SCMP_CMP_MASKED_EQ compares (arg & value) with valueTwo in both words', () => {
    const cases: [bigint, bigint][] = [
      [0x7e020000n, 0n], // docker's clone namespace-flag mask
      [0xffn, 0x10n],
      [0xff00000000n, 0x1200000000n],
      [0xffffffffffffffffn, 0x123456789n],
      [0xf0000000000000f0n, 0x8000000000000010n],
      [0x0fn, 0x10n], // wants a bit outside the mask: never matches
      [0n, 0n], // empty mask: always matches
    ];
    for (const [mask, want] of cases) {
      const profile: Seccomp = {
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures: [X86_64, X86, X32],
        syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, op: 'SCMP_CMP_MASKED_EQ', value: mask as unknown as number, valueTwo: want as unknown as number }] }],
      };
      const probesFor = [want, want | ~mask, want ^ 0x10n, want ^ 0x1000000000n, want | 0x8000000000000000n, 0n, mask, ~0n].map((x) => BigInt.asUintN(64, x));
      agreesWithModel(profile, calls(() => probesFor.map((p) => [0n, p]), 0n));
    }
  });

  it('ANDs the conditions of one rule and ORs rules for the same syscall', () => {
    const profile: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }, { index: 1, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{ index: 0, value: 10, op: 'SCMP_CMP_EQ' }] },
      ],
    };
    const s = (a: bigint, b: bigint): number => run(profile, X86_64, 'socket', [a, b]);
    assert.equal(s(2n, 1n), SECCOMP_RET.ALLOW);
    assert.equal(s(2n, 2n), ERRNO(EPERM));
    assert.equal(s(1n, 5n), SECCOMP_RET.ALLOW);
    assert.equal(s(10n, 1n), ERRNO(97));
    assert.equal(s(3n, 1n), ERRNO(EPERM));
    agreesWithModel(profile, [0n, 1n, 2n, 10n].flatMap((a) => [0n, 1n, 2n].map((b) => ({ arch: AUDIT_ARCH.X86_64, nr: nr('socket'), args: [a, b] }))));
  });

  it('ANDs two conditions on the same argument (a range)', () => {
    const profile: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 10, op: 'SCMP_CMP_GE' }, { index: 0, value: 20, op: 'SCMP_CMP_LT' }] }],
    };
    for (const [v, ok] of [[9n, false], [10n, true], [19n, true], [20n, false], [0x10000000an, false]] as const) {
      assert.equal(run(profile, X86_64, 'personality', [v]), ok ? SECCOMP_RET.ALLOW : ERRNO(EPERM), `value ${v}`);
    }
  });

  it('lets the first matching rule decide when rules overlap', () => {
    const profile: Seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 3, args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
        { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS' },
        { names: ['kill'], action: 'SCMP_ACT_TRAP' },
      ],
    };
    assert.equal(run(profile, X86_64, 'kill', [1n, 9n]), ERRNO(3));
    assert.equal(run(profile, X86_64, 'kill', [1n, 15n]), SECCOMP_RET.KILL_PROCESS);
  });

  it('accepts bigint and string values above 2^53, refuses unsafe JSON numbers', () => {
    const big = 0xfffffffffffffff0n;
    const mk = (value: unknown): Seccomp => ({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: value as number, op: 'SCMP_CMP_EQ' }] }],
    });
    for (const value of [big, big.toString(), `0x${big.toString(16)}`]) {
      assert.equal(run(mk(value), X86_64, 'personality', [big]), ERRNO(EPERM));
      assert.equal(run(mk(value), X86_64, 'personality', [big + 1n]), SECCOMP_RET.ALLOW);
    }
    const e = fieldOf(() => compileSeccomp(mk(2 ** 60), { nativeArch: X86_64 }));
    assert.equal(e.field, 'linux.seccomp.syscalls[0].args[0].value');
    assert.match(e.message, /bigint or a decimal string/);
    for (const bad of [-1, 1.5, 'ten', 1n << 64n, -1n, null]) {
      assert.equal(fieldOf(() => compileSeccomp(mk(bad), { nativeArch: X86_64 })).field, 'linux.seccomp.syscalls[0].args[0].value');
    }
  });
});

describe('compileSeccomp: runc compatibility', () => {
  it('skips unknown syscall names and reports them', () => {
    const profile: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['no_such_syscall', 'mkdir'], action: 'SCMP_ACT_ALLOW' }],
    };
    const c = compileSeccomp(profile, { nativeArch: X86_64 });
    assert.deepEqual(c.unknownSyscalls, ['no_such_syscall']);
    assert.equal(runFilter(c.program, { nr: nr('mkdir'), arch: AUDIT_ARCH.X86_64 }), SECCOMP_RET.ALLOW);
  });

  it('ignores a listenerPath when no rule uses SCMP_ACT_NOTIFY, as the runtime-spec says', () => {
    const profile: Seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/run/agent.sock',
      listenerMetadata: 'opaque',
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
    };
    const c = compileSeccomp(profile, { nativeArch: X86_64 });
    assert.equal(runFilter(c.program, { nr: nr('mkdir'), arch: AUDIT_ARCH.X86_64 }), ERRNO(1));
    assert.equal(runFilter(c.program, { nr: nr('read'), arch: AUDIT_ARCH.X86_64 }), SECCOMP_RET.ALLOW);
  });

  it('drops rules whose action is the default action', () => {
    const profile: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
        { names: ['kill'], action: 'SCMP_ACT_ALLOW' },
      ],
    };
    assert.equal(run(profile, X86_64, 'kill', [1n, 9n]), SECCOMP_RET.ALLOW);
  });

  it('returns ENOSYS above the highest syscall the profile names on a listed arch', () => {
    const profile: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: [X86_64, X86, X32],
      syscalls: [{ names: ['read', 'write', 'openat'], action: 'SCMP_ACT_ALLOW' }],
    };
    const c = compileSeccomp(profile, { nativeArch: X86_64 });
    const at = (n: number, arch: number): number => runFilter(c.program, { nr: n, arch });
    assert.equal(at(nr('openat'), AUDIT_ARCH.X86_64), SECCOMP_RET.ALLOW);
    assert.equal(at(nr('openat') + 1, AUDIT_ARCH.X86_64), ERRNO(ENOSYS));
    assert.equal(at(nr('openat') - 1, AUDIT_ARCH.X86_64), ERRNO(EPERM));
    assert.equal(at(nr('openat', X32) + 1, AUDIT_ARCH.X86_64), ERRNO(ENOSYS));
    assert.equal(at(nr('openat', X86) + 1, AUDIT_ARCH.I386), ERRNO(ENOSYS));
    assert.equal(at(0xffffffff, AUDIT_ARCH.I386), ERRNO(ENOSYS));
    // Off by option, and never with a permissive default or for an arch the profile does not list.
    const off = compileSeccomp(profile, { nativeArch: X86_64, enosysForNewerSyscalls: false });
    assert.equal(runFilter(off.program, { nr: nr('openat') + 1, arch: AUDIT_ARCH.X86_64 }), ERRNO(EPERM));
    const unlisted = compileSeccomp({ ...profile, architectures: undefined }, { nativeArch: X86_64 });
    assert.equal(runFilter(unlisted.program, { nr: nr('openat') + 1, arch: AUDIT_ARCH.X86_64 }), ERRNO(EPERM));
    for (const defaultAction of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'] as const) {
      const permissive = compileSeccomp({ ...profile, defaultAction, syscalls: [{ names: ['openat'], action: 'SCMP_ACT_KILL' }] }, { nativeArch: X86_64 });
      const want = defaultAction === 'SCMP_ACT_TRACE' ? (SECCOMP_RET.TRACE | EPERM) >>> 0 : SECCOMP_RET[defaultAction === 'SCMP_ACT_ALLOW' ? 'ALLOW' : 'LOG'];
      assert.equal(runFilter(permissive.program, { nr: nr('openat') + 1, arch: AUDIT_ARCH.X86_64 }), want);
    }
  });

  it('treats a profile with neither default action nor rules as no seccomp', () => {
    assert.equal(seccompConfigured(undefined), false);
    assert.equal(seccompConfigured({ defaultAction: '' as never }), false);
    assert.equal(seccompConfigured({ defaultAction: 'SCMP_ACT_ALLOW' }), true);
  });
});

describe('compileSeccomp: flags', () => {
  const base: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW' };
  const flagsOf = (flags: string[] | undefined) => compileSeccomp({ ...base, ...(flags ? { flags } : {}) }, { nativeArch: X86_64 });
  it('defaults to SPEC_ALLOW like runc, and an explicit empty list means none', () => {
    assert.equal(flagsOf(undefined).flags, SECCOMP_FILTER_FLAG.SPEC_ALLOW);
    assert.equal(flagsOf([]).flags, 0);
  });
  it('maps each flag name to its bit', () => {
    assert.equal(flagsOf(['SECCOMP_FILTER_FLAG_TSYNC']).flags, SECCOMP_FILTER_FLAG.TSYNC);
    assert.equal(flagsOf(['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW']).flags, SECCOMP_FILTER_FLAG.LOG | SECCOMP_FILTER_FLAG.SPEC_ALLOW);
  });
  it('accepts WAIT_KILLABLE_RECV but leaves it out: the kernel wants a listener with it', () => {
    const c = flagsOf(['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', 'SECCOMP_FILTER_FLAG_LOG']);
    assert.equal(c.flags, SECCOMP_FILTER_FLAG.LOG);
    assert.deepEqual(c.ignoredFlags, ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']);
  });
  it('refuses an unknown flag, naming it', () => {
    const e = fieldOf(() => flagsOf(['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_NEW_LISTENER']));
    assert.equal(e.field, 'linux.seccomp.flags[1]');
  });
});

describe('compileSeccomp: invalid profiles', () => {
  const ok = (): Seccomp => ({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  const cases: [string, (p: Seccomp) => void, string, string?][] = [
    ['unknown default action', (p) => { p.defaultAction = 'SCMP_ACT_MAYBE' as never; }, 'linux.seccomp.defaultAction'],
    ['missing default action', (p) => { delete (p as Partial<Seccomp>).defaultAction; }, 'linux.seccomp.defaultAction'],
    ['unknown rule action', (p) => { p.syscalls![1]!.action = 'ALLOW' as never; }, 'linux.seccomp.syscalls[1].action'],
    ['unknown operator', (p) => { p.syscalls![1]!.args![0]!.op = 'SCMP_CMP_REGEX' as never; }, 'linux.seccomp.syscalls[1].args[0].op'],
    ['argument index 6', (p) => { p.syscalls![1]!.args![0]!.index = 6; }, 'linux.seccomp.syscalls[1].args[0].index'],
    ['negative argument index', (p) => { p.syscalls![1]!.args![0]!.index = -1; }, 'linux.seccomp.syscalls[1].args[0].index'],
    ['bad valueTwo', (p) => { (p.syscalls![1]!.args![0] as SeccompArg).valueTwo = -3; }, 'linux.seccomp.syscalls[1].args[0].valueTwo'],
    ['empty names', (p) => { p.syscalls![0]!.names = []; }, 'linux.seccomp.syscalls[0].names'],
    ['errnoRet on ALLOW', (p) => { p.syscalls![0]!.errnoRet = 1; }, 'linux.seccomp.syscalls[0].errnoRet'],
    ['defaultErrnoRet on KILL', (p) => { p.defaultAction = 'SCMP_ACT_KILL'; p.defaultErrnoRet = 1; }, 'linux.seccomp.defaultErrnoRet'],
    ['errno out of range', (p) => { p.defaultErrnoRet = 70000; }, 'linux.seccomp.defaultErrnoRet'],
    ['NOTIFY action', (p) => { p.syscalls![0]!.action = 'SCMP_ACT_NOTIFY'; }, 'linux.seccomp.syscalls[0].action', 'unimplemented'],
    ['NOTIFY default', (p) => { p.defaultAction = 'SCMP_ACT_NOTIFY'; }, 'linux.seccomp.defaultAction', 'unimplemented'],
    ['NOTIFY with a listenerPath', (p) => { p.listenerPath = '/run/agent.sock'; p.syscalls![0]!.action = 'SCMP_ACT_NOTIFY'; }, 'linux.seccomp.syscalls[0].action', 'unimplemented'],
  ];
  for (const [what, mutate, field, kind = 'invalid-argument'] of cases) {
    it(`refuses ${what} (${field})`, () => {
      const p = ok();
      mutate(p);
      const e = fieldOf(() => compileSeccomp(p, { nativeArch: X86_64 }));
      assert.equal(e.kind, kind);
      assert.equal(e.field, field);
      assert.ok(e.message.includes(field), e.message);
    });
  }
});

describe('compileSeccomp: big profiles', () => {
  /** Every x86_64 syscall, most allowed, every 7th with argument rules: a docker-sized profile. */
  const names = Object.keys(syscallTables[X86_64]!);
  function bigProfile(): Seccomp {
    const syscalls: NonNullable<Seccomp['syscalls']> = [];
    names.forEach((name, i) => {
      if (i % 11 === 3) return; // left to the default action
      if (i % 7 === 0) {
        syscalls.push({ names: [name], action: 'SCMP_ACT_ALLOW', args: [{ index: i % 6, value: i, op: 'SCMP_CMP_EQ' }, { index: (i + 1) % 6, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 0 }] });
        syscalls.push({ names: [name], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 0, value: (0x100000000n + BigInt(i)) as unknown as number, op: 'SCMP_CMP_GT' }] });
      } else syscalls.push({ names: [name], action: i % 13 === 0 ? 'SCMP_ACT_LOG' : 'SCMP_ACT_ALLOW' });
    });
    return { defaultAction: 'SCMP_ACT_ERRNO', architectures: [X86_64, X86, X32], syscalls };
  }

  it('compiles a ~350-syscall profile within the kernel limit, with long jumps, agreeing with the model everywhere', () => {
    assert.ok(names.length > 300);
    const profile = bigProfile();
    const c = compileSeccomp(profile, { nativeArch: X86_64 });
    const insns = decodeProgram(c.program);
    assert.equal(insns.length, c.length);
    assert.ok(c.length < 4096, `${c.length} instructions`);
    assert.equal(seccompProgramProblem(insns), undefined);
    assert.ok(insns.some((i) => i.code === 0x05 && i.k > 255), 'expected at least one long jump');

    const calls: Call[] = [];
    for (const [arch, audit] of [[X86_64, AUDIT_ARCH.X86_64], [X32, AUDIT_ARCH.X86_64], [X86, AUDIT_ARCH.I386]] as const) {
      for (const n of Object.values(syscallTables[arch]!)) {
        for (const args of [[], [1n, 2n, 3n, 4n, 5n, 6n], [0x200000000n], [BigInt(n & 0xff), 0n, 0n, 0n, 0n, 0n]]) calls.push({ arch: audit, nr: n, args });
      }
    }
    for (const n of [0, 1, 1000, 0x3fffffff, 0x40000000, 0x40001000, 0xfffffffe, 0xffffffff]) {
      calls.push({ arch: AUDIT_ARCH.X86_64, nr: n }, { arch: AUDIT_ARCH.I386, nr: n }, { arch: AUDIT_ARCH.AARCH64, nr: n });
    }
    // Each arg rule also at its exact value.
    names.forEach((name, i) => {
      if (i % 7 === 0) {
        const a = [0n, 0n, 0n, 0n, 0n, 0n];
        a[i % 6] = BigInt(i);
        calls.push({ arch: AUDIT_ARCH.X86_64, nr: nr(name), args: a });
        calls.push({ arch: AUDIT_ARCH.X86_64, nr: nr(name), args: [0x100000000n + BigInt(i) + 1n] });
      }
    });
    agreesWithModel(profile, calls);
  });

  it('is deterministic', () => {
    const p = bigProfile();
    assert.deepEqual(compileSeccomp(p, { nativeArch: X86_64 }).program, compileSeccomp(p, { nativeArch: X86_64 }).program);
  });

  it('refuses a profile that needs more than 4096 instructions, clearly', () => {
    const syscalls = Array.from({ length: 1200 }, (_, i) => ({
      names: ['personality'],
      action: 'SCMP_ACT_ALLOW' as const,
      args: [{ index: 0, value: (0x100000000n * BigInt(i + 1) + 7n) as unknown as number, op: 'SCMP_CMP_EQ' as const }],
    }));
    const e = fieldOf(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls }, { nativeArch: X86_64 }));
    assert.equal(e.kind, 'invalid-argument');
    assert.match(e.message, /4096/);
  });
});
