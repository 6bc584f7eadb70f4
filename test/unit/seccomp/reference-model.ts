// An independent, direct reading of the seccomp semantics berth implements (no BPF): what the
// filter must return for one syscall. Tests compare the compiled program against it.

import type { Seccomp } from '../../../src/oci/runtime-spec.ts';
import { seccompSyscallNumber } from '../../../src/runtime/seccomp/architectures.ts';
import { AUDIT_ARCH, SECCOMP_RET, X32_SYSCALL_BIT } from '../../../src/runtime/seccomp/seccomp-constants.ts';

const ERRNO = (e: number): number => (SECCOMP_RET.ERRNO | e) >>> 0;
const EPERM = 1;
const ENOSYS = 38;

function actionOf(name: string, errnoRet: number | undefined): number {
  switch (name) {
    case 'SCMP_ACT_ALLOW': return SECCOMP_RET.ALLOW;
    case 'SCMP_ACT_LOG': return SECCOMP_RET.LOG;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD': return SECCOMP_RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS': return SECCOMP_RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP': return SECCOMP_RET.TRAP;
    case 'SCMP_ACT_ERRNO': return ERRNO(errnoRet ?? EPERM);
    case 'SCMP_ACT_TRACE': return (SECCOMP_RET.TRACE | (errnoRet ?? EPERM)) >>> 0;
    default: throw new Error(`reference model: no action ${name}`);
  }
}

/** Which ABI (seccomp arch name) a (audit arch, nr) pair belongs to. */
export function abiOf(auditArch: number, nr: number): string | undefined {
  if (auditArch === AUDIT_ARCH.I386) return 'SCMP_ARCH_X86';
  if (auditArch === AUDIT_ARCH.AARCH64) return 'SCMP_ARCH_AARCH64';
  if (auditArch === AUDIT_ARCH.X86_64) return (nr >>> 0) >= X32_SYSCALL_BIT ? 'SCMP_ARCH_X32' : 'SCMP_ARCH_X86_64';
  return undefined;
}

const U64 = (1n << 64n) - 1n;

function conditionHolds(op: string, data: bigint, value: bigint, valueTwo: bigint): boolean {
  switch (op) {
    case 'SCMP_CMP_EQ': return data === value;
    case 'SCMP_CMP_NE': return data !== value;
    case 'SCMP_CMP_LT': return data < value;
    case 'SCMP_CMP_LE': return data <= value;
    case 'SCMP_CMP_GT': return data > value;
    case 'SCMP_CMP_GE': return data >= value;
    case 'SCMP_CMP_MASKED_EQ': return (data & value) === valueTwo;
    default: throw new Error(`reference model: no operator ${op}`);
  }
}

export interface Call {
  arch: number;
  nr: number;
  args?: bigint[];
}

export function expectedAction(profile: Seccomp, native: string, call: Call, enosysStub = true): number {
  const listed = profile.architectures ?? [];
  const inFilter = new Set([native, ...listed]);
  const abi = abiOf(call.arch, call.nr);
  if (!abi || !inFilter.has(abi)) return SECCOMP_RET.KILL_THREAD;
  const defaultAction = actionOf(profile.defaultAction, profile.defaultErrnoRet);
  const argBits = abi === 'SCMP_ARCH_X86_64' || abi === 'SCMP_ARCH_AARCH64' ? 64 : 32;
  const args = [0, 1, 2, 3, 4, 5].map((i) => {
    const a = BigInt.asUintN(64, call.args?.[i] ?? 0n);
    return argBits === 32 ? a & 0xffffffffn : a;
  });
  let highest = -1;
  for (const rule of profile.syscalls ?? []) {
    for (const name of rule.names) {
      const nr = seccompSyscallNumber(name, abi);
      if (nr === undefined) continue;
      highest = Math.max(highest, nr);
      if (nr !== call.nr >>> 0) continue;
      const action = actionOf(rule.action, rule.errnoRet);
      if (action === defaultAction) continue; // runc drops these
      const all = (rule.args ?? []).every((c) =>
        conditionHolds(c.op, args[c.index]!, BigInt(c.value as unknown as bigint) & U64, BigInt((c.valueTwo ?? 0) as unknown as bigint)),
      );
      if (all) return action;
    }
  }
  const allows = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultAction);
  if (enosysStub && !allows && listed.includes(abi) && highest >= 0 && call.nr >>> 0 > highest) return ERRNO(ENOSYS);
  return defaultAction;
}
