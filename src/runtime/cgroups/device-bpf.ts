// linux.resources.devices -> a BPF_PROG_TYPE_CGROUP_DEVICE program, which is how cgroup v2 limits
// devices (there is no devices.allow file). Pure: the kernel side is src/sys/bpf.ts.
//
// Semantics (the v1 list's, read literally): every device is denied unless a rule allows it; the
// rules apply in order and the last rule that matches the device and names an access type decides
// that access type; a request for several types (open O_RDWR asks for r and w at once) needs each
// of them allowed. Type "a" matches block and char devices; a missing major or minor is a wildcard.
//
// The program is built backwards, from the last rule to the first, with the requested access bits
// still undecided in R3: an allow rule clears the bits it grants (all cleared: allow), a deny rule
// that meets an undecided bit denies. A rule that matches everything ends the program, so the
// rules before it (e.g. those before a leading "a" deny-all or allow-all) are not emitted at all:
// the verifier rejects unreachable instructions.
import type { DeviceCgroupRule } from '../../oci/runtime-spec.ts';
import { deviceRuleLine } from './device-rules.ts';
import { EBPF, alu32Imm, encodeEbpf, exit, ja, jmpImm, jmpReg, ldxW, type EbpfInsn } from './ebpf.ts';

/** linux/bpf.h: bpf_cgroup_dev_ctx.access_type is (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*. */
export const DEVCG_ACC = { m: 1, r: 2, w: 4 } as const;
export const DEVCG_DEV = { b: 1, c: 2 } as const;
export const DEVCG_ACC_ALL = DEVCG_ACC.m | DEVCG_ACC.r | DEVCG_ACC.w;
/** struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } */
export const DEV_CTX = { ACCESS_TYPE: 0, MAJOR: 4, MINOR: 8 } as const;

/** A rule as the program tests it: null is "any". */
export interface DeviceMatch {
  allow: boolean;
  type: 'b' | 'c' | null;
  major: number | null;
  minor: number | null;
  /** DEVCG_ACC bits. */
  access: number;
}

/** Validates the rules (with the v1 checks and messages) and reads them as matches. */
export function deviceMatches(rules: readonly DeviceCgroupRule[]): DeviceMatch[] {
  return rules.map((rule, i) => {
    deviceRuleLine(rule, i);
    const type = rule.type === 'b' || rule.type === 'c' ? rule.type : null;
    const id = (v: number | null | undefined): number | null => (v === null || v === undefined || v === -1 ? null : v);
    let access = 0;
    for (const ch of rule.access ?? '') access |= DEVCG_ACC[ch as keyof typeof DEVCG_ACC];
    return { allow: rule.allow === true, type, major: id(rule.major), minor: id(rule.minor), access };
  });
}

// Registers: R1 the context (then scratch), R2 device type, R3 undecided access bits, R4 major, R5 minor.
const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

const PROLOGUE: readonly EbpfInsn[] = [
  ldxW(R2, R1, DEV_CTX.ACCESS_TYPE),
  alu32Imm(EBPF.AND, R2, 0xffff),
  ldxW(R3, R1, DEV_CTX.ACCESS_TYPE),
  alu32Imm(EBPF.RSH, R3, 16),
  ldxW(R4, R1, DEV_CTX.MAJOR),
  ldxW(R5, R1, DEV_CTX.MINOR),
];

const verdict = (allow: boolean): EbpfInsn[] => [alu32Imm(EBPF.MOV, R0, allow ? 1 : 0), exit()];

/** "Skip to the next rule unless reg == value", for any u32 (a K operand is sign-extended to 64 bits). */
function unlessEqual(reg: number, value: number): Array<(toNext: number) => EbpfInsn> {
  if (value <= 0x7fffffff) return [(toNext) => jmpImm(EBPF.JNE, reg, value, toNext)];
  return [() => alu32Imm(EBPF.MOV, R1, value), (toNext) => jmpReg(EBPF.JNE, reg, R1, toNext)];
}

/** One rule's instructions, and whether they always return (nothing after them can run). */
function ruleBlock(m: DeviceMatch): { insns: EbpfInsn[]; final: boolean } {
  // Each entry is an instruction that may jump to the next rule, given the distance to it.
  const checks: Array<(toNext: number) => EbpfInsn> = [];
  if (m.type !== null) checks.push((toNext) => jmpImm(EBPF.JNE, R2, DEVCG_DEV[m.type as 'b' | 'c'], toNext));
  if (m.major !== null) checks.push(...unlessEqual(R4, m.major));
  if (m.minor !== null) checks.push(...unlessEqual(R5, m.minor));
  const all = m.access === DEVCG_ACC_ALL;
  if (m.allow && !all) {
    // Grant these bits; allow once no bit is left undecided.
    checks.push(() => alu32Imm(EBPF.AND, R3, ~m.access));
    checks.push((toNext) => jmpImm(EBPF.JNE, R3, 0, toNext));
  } else if (!m.allow && !all) {
    // Deny when an undecided bit is one of these.
    checks.push(() => jmpImm(EBPF.JSET, R3, m.access, 1));
    checks.push((toNext) => ja(toNext));
  }
  const tail = verdict(m.allow);
  const length = checks.length + tail.length;
  const insns = checks.map((make, i) => make(length - i - 1));
  return { insns: [...insns, ...tail], final: checks.length === 0 };
}

/** The program's instructions, for tests and disassembly. */
export function deviceProgramInsns(matches: readonly DeviceMatch[]): EbpfInsn[] {
  const out: EbpfInsn[] = [...PROLOGUE];
  for (let i = matches.length - 1; i >= 0; i--) {
    const block = ruleBlock(matches[i]!);
    out.push(...block.insns);
    if (block.final) return out;
  }
  out.push(...verdict(false)); // default deny
  return out;
}

/** The device rules compiled into a cgroup device program (struct bpf_insn bytes). */
export function compileDeviceProgram(rules: readonly DeviceCgroupRule[]): Uint8Array {
  return encodeEbpf(deviceProgramInsns(deviceMatches(rules)));
}
