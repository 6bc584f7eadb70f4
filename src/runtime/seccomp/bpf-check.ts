// The checks the kernel applies to a classic BPF program before it accepts it as a seccomp filter
// (bpf_check_classic + seccomp_check_filter): length, known opcodes, in-range forward jumps,
// aligned loads inside struct seccomp_data, scratch memory slots, and a final return.

import { BPF, BPF_MAXINSNS, BPF_MEMWORDS, bpfClass, bpfMode, bpfOp, bpfSize, bpfSrc, type SockFilter } from './bpf.ts';
import { SECCOMP_DATA } from './seccomp-constants.ts';

/** Returns undefined when the kernel would accept the program, else why not. */
export function seccompProgramProblem(insns: readonly SockFilter[]): string | undefined {
  if (insns.length === 0) return 'the program is empty';
  if (insns.length > BPF_MAXINSNS) return `the program has ${insns.length} instructions, the kernel's limit is ${BPF_MAXINSNS}`;
  for (let pc = 0; pc < insns.length; pc++) {
    const { code, jt, jf, k } = insns[pc]!;
    const at = `instruction ${pc}`;
    const remaining = insns.length - pc - 1;
    switch (bpfClass(code)) {
      case BPF.LD:
      case BPF.LDX: {
        const mode = bpfMode(code);
        const isLd = bpfClass(code) === BPF.LD;
        if (isLd && mode === BPF.ABS) {
          if (bpfSize(code) !== BPF.W) return `${at}: seccomp loads must be 32-bit words`;
          if (k & 3 || k >= SECCOMP_DATA.SIZE) return `${at}: load offset ${k} is not an aligned offset in seccomp_data`;
        } else if (mode === BPF.MEM) {
          if (bpfSize(code) !== BPF.W || k >= BPF_MEMWORDS) return `${at}: bad scratch memory load`;
        } else if (!(mode === BPF.IMM || mode === BPF.LEN) || bpfSize(code) !== BPF.W) {
          return `${at}: load mode 0x${code.toString(16)} is not allowed in seccomp`;
        }
        break;
      }
      case BPF.ST:
      case BPF.STX:
        if (code !== BPF.ST && code !== BPF.STX) return `${at}: bad store`;
        if (k >= BPF_MEMWORDS) return `${at}: scratch memory slot ${k} out of range`;
        break;
      case BPF.ALU: {
        const op = bpfOp(code);
        if (![BPF.ADD, BPF.SUB, BPF.MUL, BPF.DIV, BPF.OR, BPF.AND, BPF.LSH, BPF.RSH, BPF.NEG, BPF.MOD, BPF.XOR].includes(op as never)) {
          return `${at}: unknown ALU operation`;
        }
        if ((op === BPF.DIV || op === BPF.MOD) && bpfSrc(code) === BPF.K && k === 0) return `${at}: division by constant zero`;
        if ((op === BPF.LSH || op === BPF.RSH) && bpfSrc(code) === BPF.K && k >= 32) return `${at}: shift by ${k}`;
        break;
      }
      case BPF.JMP: {
        const op = bpfOp(code);
        if (op === BPF.JA) {
          if (k >= remaining) return `${at}: ja ${k} jumps past the end`;
        } else if ([BPF.JEQ, BPF.JGT, BPF.JGE, BPF.JSET].includes(op as never)) {
          if (jt >= remaining || jf >= remaining) return `${at}: conditional jump past the end`;
        } else return `${at}: unknown jump operation`;
        break;
      }
      case BPF.RET:
        if (code !== (BPF.RET | BPF.K) && code !== (BPF.RET | BPF.A)) return `${at}: bad return`;
        break;
      case BPF.MISC:
        if (code !== (BPF.MISC | BPF.TAX) && code !== (BPF.MISC | BPF.TXA)) return `${at}: bad misc operation`;
        break;
    }
  }
  if (bpfClass(insns[insns.length - 1]!.code) !== BPF.RET) return 'the last instruction is not a return';
  return undefined;
}
