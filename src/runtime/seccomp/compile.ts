// Compiles the OCI `linux.seccomp` object to a classic BPF seccomp filter.
//
// Program shape:
//   ld arch; one jeq per AUDIT_ARCH in the filter; ret <bad-arch action>
//   per AUDIT_ARCH: ld nr; a binary search (jge) over syscall-number intervals; each leaf is a
//   `ret` or the rule chain of one syscall (argument tests, first matching rule wins, else the
//   default action).
// The syscall-number space under one AUDIT_ARCH is split between ABIs: on x86_64, numbers with
// __X32_SYSCALL_BIT belong to x32. An ABI that is not in the filter owns its range with the
// bad-arch action, so a profile listing only SCMP_ARCH_X86_64 kills x32 calls as libseccomp does.
//
// Semantics chosen to match runc + libseccomp:
// - the native architecture is always in the filter; listed ones are added;
// - bad-arch action: SCMP_ACT_KILL (kill thread), libseccomp's default, which runc keeps;
// - SCMP_ACT_ERRNO / SCMP_ACT_TRACE without errnoRet return EPERM;
// - rules whose action equals the default action are dropped, syscall names unknown on an
//   architecture are skipped there (runc logs and ignores them);
// - runc's -ENOSYS stub: unless the default action allows (ALLOW, LOG, TRACE), numbers above the
//   highest syscall the profile names on a listed architecture return ENOSYS, so that libc falls
//   back from syscalls newer than the profile (clone3 -> clone) instead of seeing EPERM;
// - conditions of one rule are ANDed (libseccomp/crun); several rules for a syscall are ORed, the
//   first matching rule in profile order deciding the action. (runc instead splits a rule whose
//   conditions repeat an argument index into one rule per condition; berth does not.)

import { invalid } from '../../oci/errors.ts';
import type { Seccomp } from '../../oci/runtime-spec.ts';
import { nativeSeccompArch, seccompArchInfo, seccompSyscallNumber, type SeccompArchInfo } from './architectures.ts';
import { emitCondition, staticOutcome } from './arg-compare.ts';
import { BPF_MAXINSNS, encodeProgram, type SockFilter } from './bpf.ts';
import { BpfAssembler } from './bpf-assembler.ts';
import { seccompProgramProblem } from './bpf-check.ts';
import { normalizeSeccomp, type SeccompCondition, type SeccompRule } from './profile.ts';
import { ENOSYS, SECCOMP_DATA, SECCOMP_RET } from './seccomp-constants.ts';

export interface CompileSeccompOptions {
  /** The architecture the filter runs on (default: this process's, from process.arch). */
  nativeArch?: string;
  /** runc's -ENOSYS stub for syscalls newer than the profile (default true). */
  enosysForNewerSyscalls?: boolean;
}

export interface CompiledSeccomp {
  /** struct sock_filter[] as little-endian bytes, for seccomp(SECCOMP_SET_MODE_FILTER). */
  program: Buffer;
  /** Number of instructions (sock_fprog.len). */
  length: number;
  /** SECCOMP_FILTER_FLAG_* bits to pass to seccomp(2). */
  flags: number;
  /** Flags the profile named that are not in `flags` (WAIT_KILLABLE_RECV without a listener). */
  ignoredFlags: string[];
  /** Architectures compiled into the filter, native first. */
  architectures: string[];
  /** Listed architectures berth has no syscall table for: they get the bad-arch action. */
  skippedArchitectures: string[];
  /** Syscall names not known on any compiled architecture (ignored, as runc does). */
  unknownSyscalls: string[];
  defaultAction: number;
  badArchAction: number;
}

/** runc treats a profile with neither a default action nor rules as "no seccomp". */
export function seccompConfigured(profile: Seccomp | undefined): profile is Seccomp {
  return !!profile && (!!profile.defaultAction || (profile.syscalls?.length ?? 0) > 0);
}

interface Rule {
  action: number;
  conditions: SeccompCondition[];
}

/** What happens to the syscall numbers of one interval. */
type Body = { kind: 'ret'; ret: number } | { kind: 'rules'; rules: Rule[]; fallback: number; argBits: 32 | 64 };

interface Interval {
  first: number;
  last: number;
  body: Body;
  key: string;
}

const BAD_ARCH_ACTION = SECCOMP_RET.KILL_THREAD;
const U32_MAX = 0xffffffff;

export function compileSeccomp(profile: Seccomp, opts: CompileSeccompOptions = {}): CompiledSeccomp {
  const norm = normalizeSeccomp(profile);
  const native = opts.nativeArch ?? nativeSeccompArch();
  if (!seccompArchInfo(native)) {
    throw invalid(`seccomp: no syscall table for the native architecture ${native}`, { field: 'nativeArch' });
  }
  const architectures = [native, ...norm.architectures.filter((a) => a !== native && seccompArchInfo(a))];
  const skippedArchitectures = norm.architectures.filter((a) => !seccompArchInfo(a));
  const infos = architectures.map((a) => seccompArchInfo(a)!);
  const enosys = (opts.enosysForNewerSyscalls ?? true) && !norm.defaultAllows;
  const enosysRet = (SECCOMP_RET.ERRNO | ENOSYS) >>> 0;

  const known = new Set<string>();
  const sections = new Map<string, Interval[]>();
  for (const info of infos) {
    const byNr = rulesByNumber(norm.rules, info.name, norm.defaultAction, known);
    // Like runc, the stub covers only architectures the profile lists, above the highest number
    // any rule names there (rules dropped for matching the default action count too).
    const highest = enosys && norm.architectures.includes(info.name) ? highestNamed(norm.rules, info.name) : undefined;
    sections.set(info.name, intervals(info, byNr, norm.defaultAction, highest === undefined ? undefined : { above: highest, ret: enosysRet }));
  }

  const asm = new BpfAssembler();
  const auditArches = [...new Set(infos.map((i) => i.auditArch))];
  const archLabels = auditArches.map(() => asm.newLabel());
  asm.loadAbs(SECCOMP_DATA.ARCH);
  auditArches.forEach((auditArch, i) => {
    const next = asm.newLabel();
    asm.jump('jeq', auditArch, archLabels[i]!, next);
    asm.place(next);
  });
  asm.ret(BAD_ARCH_ACTION);
  auditArches.forEach((auditArch, i) => {
    asm.place(archLabels[i]!);
    asm.loadAbs(SECCOMP_DATA.NR);
    emitSearch(asm, numberSpace(auditArch, infos, sections));
  });

  const insns = asm.assemble();
  checkProgram(insns);
  const unknownSyscalls = [...new Set(norm.rules.flatMap((r) => r.names))].filter((n) => !known.has(n));
  return {
    program: encodeProgram(insns),
    length: insns.length,
    flags: norm.flags,
    ignoredFlags: norm.ignoredFlags,
    architectures,
    skippedArchitectures,
    unknownSyscalls,
    defaultAction: norm.defaultAction,
    badArchAction: BAD_ARCH_ACTION,
  };
}

function checkProgram(insns: SockFilter[]): void {
  if (insns.length > BPF_MAXINSNS) {
    throw invalid(
      `linux.seccomp: the profile compiles to ${insns.length} BPF instructions, above the kernel's limit of ${BPF_MAXINSNS}; ` +
        'reduce the number of distinct argument rules or architectures',
      { field: 'linux.seccomp.syscalls' },
    );
  }
  const problem = seccompProgramProblem(insns);
  // A compiler bug, not bad input: never hand the kernel a program it would reject.
  if (problem) throw new Error(`internal error: compiled seccomp program is invalid: ${problem}`);
}

/** Rules per syscall number on one architecture, in profile order, minus redundant ones. */
function rulesByNumber(rules: SeccompRule[], arch: string, defaultAction: number, known: Set<string>): Map<number, Rule[]> {
  const info = seccompArchInfo(arch)!;
  const byNr = new Map<number, Rule[]>();
  for (const rule of rules) {
    for (const name of rule.names) {
      const nr = seccompSyscallNumber(name, arch);
      if (nr === undefined) continue;
      known.add(name);
      if (rule.action === defaultAction) continue;
      const list = byNr.get(nr) ?? [];
      byNr.set(nr, list);
      // A rule after an unconditional one for the same syscall can never match.
      if (list.length && list[list.length - 1]!.conditions.length === 0) continue;
      const conditions: SeccompCondition[] = [];
      let never = false;
      for (const c of rule.conditions) {
        const outcome = staticOutcome(c, info.argBits);
        if (outcome === false) never = true;
        else if (outcome === 'runtime') conditions.push(c);
      }
      if (!never) list.push({ action: rule.action, conditions });
    }
  }
  for (const [nr, list] of byNr) if (list.length === 0) byNr.delete(nr);
  return byNr;
}

function highestNamed(rules: SeccompRule[], arch: string): number | undefined {
  let highest: number | undefined;
  for (const rule of rules) {
    for (const name of rule.names) {
      const nr = seccompSyscallNumber(name, arch);
      if (nr !== undefined && (highest === undefined || nr > highest)) highest = nr;
    }
  }
  return highest;
}

function retBody(ret: number): Body {
  return { kind: 'ret', ret };
}

function bodyKey(body: Body): string {
  if (body.kind === 'ret') return `ret:${body.ret}`;
  return JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/** Splits one ABI's number range into intervals with one body each, merging equal neighbours. */
function intervals(
  info: SeccompArchInfo,
  byNr: Map<number, Rule[]>,
  defaultAction: number,
  enosys: { above: number; ret: number } | undefined,
): Interval[] {
  const out: Interval[] = [];
  const push = (first: number, last: number, body: Body): void => {
    if (first > last) return;
    const key = bodyKey(body);
    const prev = out[out.length - 1];
    if (prev && prev.key === key && prev.last + 1 === first) prev.last = last;
    else out.push({ first, last, body, key });
  };
  const gap = (first: number, last: number): void => {
    if (enosys && last > enosys.above) {
      push(first, Math.min(last, enosys.above), retBody(defaultAction));
      push(Math.max(first, enosys.above + 1), last, retBody(enosys.ret));
    } else push(first, last, retBody(defaultAction));
  };
  let next = info.nrFirst;
  for (const nr of [...byNr.keys()].sort((a, b) => a - b)) {
    if (nr < info.nrFirst || nr > info.nrLast) continue;
    gap(next, nr - 1);
    const rules = byNr.get(nr)!;
    const only = rules[0]!;
    push(nr, nr, rules.length === 1 && only.conditions.length === 0 ? retBody(only.action) : { kind: 'rules', rules, fallback: defaultAction, argBits: info.argBits });
    next = nr + 1;
  }
  if (next <= info.nrLast) gap(next, info.nrLast);
  return out;
}

/** The whole u32 syscall-number space of one AUDIT_ARCH, each ABI's slice or the bad-arch action. */
function numberSpace(auditArch: number, infos: SeccompArchInfo[], sections: Map<string, Interval[]>): Interval[] {
  const owners = infos.filter((i) => i.auditArch === auditArch).sort((a, b) => a.nrFirst - b.nrFirst);
  const out: Interval[] = [];
  const badArch = (first: number, last: number): void => {
    if (first <= last) out.push({ first, last, body: retBody(BAD_ARCH_ACTION), key: `ret:${BAD_ARCH_ACTION}` });
  };
  let next = 0;
  for (const owner of owners) {
    badArch(next, owner.nrFirst - 1);
    out.push(...sections.get(owner.name)!);
    next = owner.nrLast + 1;
  }
  badArch(next, U32_MAX);
  // Merge across ABI boundaries too (e.g. both ends returning the same action).
  return out.reduce<Interval[]>((acc, iv) => {
    const prev = acc[acc.length - 1];
    if (prev && prev.key === iv.key && prev.last + 1 === iv.first) prev.last = iv.last;
    else acc.push({ ...iv });
    return acc;
  }, []);
}

/** Binary search on the syscall number (in A) over contiguous intervals covering 0..2^32-1. */
function emitSearch(asm: BpfAssembler, ivs: Interval[]): void {
  if (ivs.length === 1) {
    emitBody(asm, ivs[0]!.body);
    return;
  }
  const mid = ivs.length >> 1;
  const low = asm.newLabel();
  const high = asm.newLabel();
  asm.jump('jge', ivs[mid]!.first, high, low);
  asm.place(low);
  emitSearch(asm, ivs.slice(0, mid));
  asm.place(high);
  emitSearch(asm, ivs.slice(mid));
}

function emitBody(asm: BpfAssembler, body: Body): void {
  if (body.kind === 'ret') {
    asm.ret(body.ret);
    return;
  }
  for (const rule of body.rules) {
    if (rule.conditions.length === 0) {
      asm.ret(rule.action);
      return;
    }
    const nextRule = asm.newLabel();
    for (const cond of rule.conditions) emitCondition(asm, cond, body.argBits, nextRule);
    asm.ret(rule.action);
    asm.place(nextRule);
  }
  asm.ret(body.fallback);
}
