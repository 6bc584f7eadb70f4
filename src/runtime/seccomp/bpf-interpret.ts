// A classic BPF interpreter over struct seccomp_data, for tests and for `berth-runtime` debugging:
// it answers "what would the kernel's filter return for this syscall?" without loading anything.

import { BPF, BPF_MEMWORDS, bpfClass, bpfMiscOp, bpfMode, bpfOp, bpfRval, bpfSrc, decodeProgram, type SockFilter } from './bpf.ts';
import { seccompProgramProblem } from './bpf-check.ts';
import { SECCOMP_DATA } from './seccomp-constants.ts';

export interface SeccompInput {
  /** Syscall number as the kernel sees it (x32 numbers include __X32_SYSCALL_BIT); u32 or int. */
  nr: number;
  /** AUDIT_ARCH_* value. */
  arch: number;
  /** Up to six 64-bit arguments; missing ones are 0. */
  args?: readonly (bigint | number)[];
  instruction_pointer?: bigint | number;
}

/** Lays out struct seccomp_data as a little-endian x86/arm64 kernel fills it. */
export function seccompData(input: SeccompInput): DataView {
  const view = new DataView(new ArrayBuffer(SECCOMP_DATA.SIZE));
  view.setUint32(SECCOMP_DATA.NR, input.nr >>> 0, true);
  view.setUint32(SECCOMP_DATA.ARCH, input.arch >>> 0, true);
  view.setBigUint64(8, BigInt.asUintN(64, BigInt(input.instruction_pointer ?? 0)), true);
  const args = input.args ?? [];
  if (args.length > 6) throw new RangeError(`seccomp_data holds 6 arguments, got ${args.length}`);
  for (let i = 0; i < 6; i++) view.setBigUint64(16 + 8 * i, BigInt.asUintN(64, BigInt(args[i] ?? 0)), true);
  return view;
}

/**
 * Runs a seccomp filter (bytes or decoded instructions) on one input and returns the filter's
 * 32-bit return value (SECCOMP_RET_* | data). Throws when the kernel would reject the program.
 */
export function runFilter(program: Uint8Array | readonly SockFilter[], input: SeccompInput): number {
  const insns = program instanceof Uint8Array ? decodeProgram(program) : program;
  const problem = seccompProgramProblem(insns);
  if (problem) throw new Error(`invalid seccomp program: ${problem}`);
  const data = seccompData(input);
  const mem = new Uint32Array(BPF_MEMWORDS);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    const { code, jt, jf, k } = insns[pc]!;
    switch (bpfClass(code)) {
      case BPF.LD:
        a = load(code, k, data, mem);
        break;
      case BPF.LDX:
        x = load(code, k, data, mem);
        break;
      case BPF.ST:
        mem[k] = a;
        break;
      case BPF.STX:
        mem[k] = x;
        break;
      case BPF.ALU: {
        const op = bpfOp(code);
        // The kernel's classic-to-eBPF conversion makes division by a zero X end the filter with 0.
        if ((op === BPF.DIV || op === BPF.MOD) && bpfSrc(code) === BPF.X && x === 0) return 0;
        a = alu(op, a, bpfSrc(code) === BPF.X ? x : k);
        break;
      }
      case BPF.JMP: {
        const op = bpfOp(code);
        if (op === BPF.JA) {
          pc += k;
          break;
        }
        const operand = (bpfSrc(code) === BPF.X ? x : k) >>> 0;
        const taken =
          op === BPF.JEQ ? a === operand
          : op === BPF.JGT ? a > operand
          : op === BPF.JGE ? a >= operand
          : (a & operand) !== 0;
        pc += taken ? jt : jf;
        break;
      }
      case BPF.RET:
        return (bpfRval(code) === BPF.A ? a : k) >>> 0;
      case BPF.MISC:
        if (bpfMiscOp(code) === BPF.TAX) x = a;
        else a = x;
        break;
    }
  }
  throw new Error('seccomp program ran off its end');
}

function load(code: number, k: number, data: DataView, mem: Uint32Array): number {
  switch (bpfMode(code)) {
    case BPF.ABS:
      // The kernel reads seccomp_data words in host byte order: little-endian here.
      return data.getUint32(k, true);
    case BPF.LEN:
      return SECCOMP_DATA.SIZE;
    case BPF.MEM:
      return mem[k]!;
    case BPF.IMM:
      return k >>> 0;
    default:
      throw new Error(`unsupported load 0x${code.toString(16)}`);
  }
}

function alu(op: number, a: number, operand: number): number {
  const b = operand >>> 0;
  switch (op) {
    case BPF.ADD: return (a + b) >>> 0;
    case BPF.SUB: return (a - b) >>> 0;
    case BPF.MUL: return Number((BigInt(a) * BigInt(b)) & 0xffffffffn);
    case BPF.DIV: return Math.floor(a / b) >>> 0;
    case BPF.MOD: return a % b;
    case BPF.OR: return (a | b) >>> 0;
    case BPF.AND: return (a & b) >>> 0;
    case BPF.XOR: return (a ^ b) >>> 0;
    case BPF.LSH: return b >= 32 ? 0 : (a << b) >>> 0;
    case BPF.RSH: return b >= 32 ? 0 : a >>> b;
    case BPF.NEG: return -a >>> 0;
    default: throw new Error(`unknown ALU op 0x${op.toString(16)}`);
  }
}
