// Validates the OCI `linux.seccomp` object and turns it into plain numbers: return values with
// their errno data, flags, and argument conditions as unsigned 64-bit bigints. Every error is a
// BerthError naming the exact field (`linux.seccomp.syscalls[3].args[0].op`).

import { invalid, unimplemented } from '../../oci/errors.ts';
import type { Seccomp } from '../../oci/runtime-spec.ts';
import { KNOWN_SECCOMP_ARCHITECTURES } from './architectures.ts';
import { EPERM, SECCOMP_FILTER_FLAG, SECCOMP_RET } from './seccomp-constants.ts';

const FIELD = 'linux.seccomp';
const U64_MAX = (1n << 64n) - 1n;

export type SeccompOp = 'NE' | 'LT' | 'LE' | 'EQ' | 'GE' | 'GT' | 'MASKED_EQ';

export interface SeccompCondition {
  index: number;
  op: SeccompOp;
  /** The comparison value; for MASKED_EQ, the mask. */
  value: bigint;
  /** For MASKED_EQ, the value the masked argument must equal; 0 otherwise. */
  valueTwo: bigint;
}

export interface SeccompRule {
  names: string[];
  /** The filter return value (action | data). */
  action: number;
  conditions: SeccompCondition[];
  /** Where the rule came from, for messages: `linux.seccomp.syscalls[3]`. */
  field: string;
}

export interface NormalizedSeccomp {
  defaultAction: number;
  /** ALLOW, LOG and TRACE let unknown syscalls run; runc adds no -ENOSYS stub for them. */
  defaultAllows: boolean;
  /** The architectures listed in the profile, deduplicated, in order. */
  architectures: string[];
  flags: number;
  /** Flag names accepted but left out of `flags` (see normalizeFlags). */
  ignoredFlags: string[];
  rules: SeccompRule[];
}

const actionBases: Record<string, { ret: number; takesErrno: boolean }> = {
  SCMP_ACT_KILL: { ret: SECCOMP_RET.KILL_THREAD, takesErrno: false },
  SCMP_ACT_KILL_THREAD: { ret: SECCOMP_RET.KILL_THREAD, takesErrno: false },
  SCMP_ACT_KILL_PROCESS: { ret: SECCOMP_RET.KILL_PROCESS, takesErrno: false },
  SCMP_ACT_TRAP: { ret: SECCOMP_RET.TRAP, takesErrno: false },
  SCMP_ACT_ERRNO: { ret: SECCOMP_RET.ERRNO, takesErrno: true },
  SCMP_ACT_TRACE: { ret: SECCOMP_RET.TRACE, takesErrno: true },
  SCMP_ACT_ALLOW: { ret: SECCOMP_RET.ALLOW, takesErrno: false },
  SCMP_ACT_LOG: { ret: SECCOMP_RET.LOG, takesErrno: false },
};

const operators: Record<string, SeccompOp> = {
  SCMP_CMP_NE: 'NE',
  SCMP_CMP_LT: 'LT',
  SCMP_CMP_LE: 'LE',
  SCMP_CMP_EQ: 'EQ',
  SCMP_CMP_GE: 'GE',
  SCMP_CMP_GT: 'GT',
  SCMP_CMP_MASKED_EQ: 'MASKED_EQ',
};

const flagBits: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
};

/**
 * The return value for an action name. ERRNO and TRACE carry `errnoRet` (default EPERM, as runc
 * does); giving errnoRet to any other action is an error, as the runtime-spec requires.
 */
function actionValue(name: unknown, errnoRet: unknown, field: string, errnoField: string): number {
  if (name === 'SCMP_ACT_NOTIFY') {
    throw unimplemented(`${field}: SCMP_ACT_NOTIFY (seccomp user notification) is not supported by berth`, { field });
  }
  if (typeof name !== 'string' || !Object.hasOwn(actionBases, name)) {
    throw invalid(`${field}: unknown seccomp action ${JSON.stringify(name)} (expected one of ${Object.keys(actionBases).join(', ')})`, {
      field,
    });
  }
  const base = actionBases[name]!;
  if (errnoRet === undefined || errnoRet === null) {
    return base.takesErrno ? (base.ret | EPERM) >>> 0 : base.ret;
  }
  if (!base.takesErrno) {
    throw invalid(`${errnoField}: ${name} does not take an errno; only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do`, { field: errnoField });
  }
  if (typeof errnoRet !== 'number' || !Number.isInteger(errnoRet) || errnoRet < 0 || errnoRet > 0xffff) {
    throw invalid(`${errnoField}: errno must be an integer from 0 to 65535, got ${String(errnoRet)}`, { field: errnoField });
  }
  return (base.ret | errnoRet) >>> 0;
}

/**
 * Parses an argument value as an unsigned 64-bit integer. JSON numbers above 2^53 have already
 * lost precision by the time JSON.parse returns, so such values must reach berth as a bigint or
 * as a string of decimal or 0x-prefixed hex digits; an unsafe number is refused rather than
 * compiled wrong.
 */
export function parseU64(raw: unknown, field: string): bigint {
  let v: bigint;
  if (typeof raw === 'bigint') v = raw;
  else if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 0) {
      throw invalid(`${field}: must be an unsigned 64-bit integer, got ${raw}`, { field });
    }
    if (!Number.isSafeInteger(raw)) {
      throw invalid(
        `${field}: ${raw} is above 2^53 and may have lost precision as a JSON number; pass it as a bigint or a decimal string`,
        { field },
      );
    }
    v = BigInt(raw);
  } else if (typeof raw === 'string' && /^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(raw)) {
    v = BigInt(raw);
  } else {
    throw invalid(`${field}: must be an unsigned 64-bit integer, got ${JSON.stringify(raw)}`, { field });
  }
  if (v < 0n || v > U64_MAX) throw invalid(`${field}: ${v} is outside the unsigned 64-bit range`, { field });
  return v;
}

function normalizeCondition(raw: unknown, field: string): SeccompCondition {
  if (typeof raw !== 'object' || raw === null) throw invalid(`${field}: must be an object`, { field });
  const arg = raw as Record<string, unknown>;
  const index = arg.index;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 5) {
    throw invalid(`${field}.index: syscall argument index must be 0 to 5, got ${JSON.stringify(index)}`, {
      field: `${field}.index`,
    });
  }
  const opName = arg.op;
  if (typeof opName !== 'string' || !Object.hasOwn(operators, opName)) {
    throw invalid(`${field}.op: unknown seccomp operator ${JSON.stringify(opName)} (expected one of ${Object.keys(operators).join(', ')})`, {
      field: `${field}.op`,
    });
  }
  const value = parseU64(arg.value, `${field}.value`);
  const valueTwo = arg.valueTwo === undefined || arg.valueTwo === null ? 0n : parseU64(arg.valueTwo, `${field}.valueTwo`);
  return { index, op: operators[opName]!, value, valueTwo };
}

/**
 * Flags as the loader passes them to seccomp(2). Absent `flags` means SPEC_ALLOW, runc's default;
 * an explicit empty list means none. WAIT_KILLABLE_RECV is accepted but left out: the kernel
 * refuses it without NEW_LISTENER, and berth installs no listener (SCMP_ACT_NOTIFY is refused).
 */
function normalizeFlags(raw: unknown): { flags: number; ignoredFlags: string[] } {
  if (raw === undefined || raw === null) return { flags: SECCOMP_FILTER_FLAG.SPEC_ALLOW, ignoredFlags: [] };
  if (!Array.isArray(raw)) throw invalid(`${FIELD}.flags: must be an array of flag names`, { field: `${FIELD}.flags` });
  let flags = 0;
  const ignoredFlags: string[] = [];
  raw.forEach((name, i) => {
    const field = `${FIELD}.flags[${i}]`;
    if (typeof name !== 'string' || !Object.hasOwn(flagBits, name)) {
      throw invalid(`${field}: unknown seccomp flag ${JSON.stringify(name)} (expected one of ${Object.keys(flagBits).join(', ')})`, {
        field,
      });
    }
    if (name === 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV') ignoredFlags.push(name);
    else flags |= flagBits[name]!;
  });
  return { flags, ignoredFlags };
}

function normalizeArchitectures(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  const field = `${FIELD}.architectures`;
  if (!Array.isArray(raw)) throw invalid(`${field}: must be an array of architecture names`, { field });
  const out: string[] = [];
  raw.forEach((name, i) => {
    if (typeof name !== 'string' || !KNOWN_SECCOMP_ARCHITECTURES.includes(name)) {
      throw invalid(`${field}[${i}]: unknown seccomp architecture ${JSON.stringify(name)}`, { field: `${field}[${i}]` });
    }
    if (!out.includes(name)) out.push(name);
  });
  return out;
}

export function normalizeSeccomp(profile: Seccomp): NormalizedSeccomp {
  if (typeof profile !== 'object' || profile === null) throw invalid(`${FIELD}: must be an object`, { field: FIELD });
  // listenerPath only matters with SCMP_ACT_NOTIFY ("If the SCMP_ACT_NOTIFY action is not used this
  // value is ignored"), and that action is refused below.
  if (profile.defaultAction === undefined) {
    throw invalid(`${FIELD}.defaultAction: required`, { field: `${FIELD}.defaultAction` });
  }
  const defaultAction = actionValue(
    profile.defaultAction,
    profile.defaultErrnoRet,
    `${FIELD}.defaultAction`,
    `${FIELD}.defaultErrnoRet`,
  );
  const defaultAllows = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultAction);
  const rawSyscalls: unknown = profile.syscalls ?? [];
  if (!Array.isArray(rawSyscalls)) {
    throw invalid(`${FIELD}.syscalls: must be an array`, { field: `${FIELD}.syscalls` });
  }
  const rules = rawSyscalls.map((raw: unknown, i: number): SeccompRule => {
    const field = `${FIELD}.syscalls[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw invalid(`${field}: must be an object`, { field });
    const entry = raw as Record<string, unknown>;
    const names = entry.names;
    if (!Array.isArray(names) || names.length === 0) {
      throw invalid(`${field}.names: must be a non-empty array of syscall names`, { field: `${field}.names` });
    }
    names.forEach((n, j) => {
      if (typeof n !== 'string' || n === '') {
        throw invalid(`${field}.names[${j}]: must be a syscall name`, { field: `${field}.names[${j}]` });
      }
    });
    const action = actionValue(entry.action, entry.errnoRet, `${field}.action`, `${field}.errnoRet`);
    const rawArgs = entry.args ?? [];
    if (!Array.isArray(rawArgs)) throw invalid(`${field}.args: must be an array`, { field: `${field}.args` });
    const conditions = rawArgs.map((a: unknown, j: number) => normalizeCondition(a, `${field}.args[${j}]`));
    return { names: names as string[], action, conditions, field };
  });
  return {
    defaultAction,
    defaultAllows,
    architectures: normalizeArchitectures(profile.architectures),
    ...normalizeFlags(profile.flags),
    rules,
  };
}
