// Human-readable listing of a seccomp filter, one instruction per line with absolute jump
// targets and the seccomp meaning of loads and returns: `0003: jeq #0xc000003e  -> 4 : 9`.

import { BPF, bpfClass, bpfMiscOp, bpfMode, bpfOp, bpfRval, bpfSrc, decodeProgram, type SockFilter } from './bpf.ts';
import { AUDIT_ARCH, SECCOMP_RET, SECCOMP_RET_ACTION_FULL, SECCOMP_RET_DATA } from './seccomp-constants.ts';

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** Names a filter return value: `ALLOW`, `ERRNO(1)`, `TRACE(5)`, `KILL_PROCESS`. */
export function describeSeccompReturn(ret: number): string {
  const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = ret & SECCOMP_RET_DATA;
  const name = Object.entries(SECCOMP_RET).find(([, v]) => v >>> 0 === action)?.[0] ?? `UNKNOWN(${hex(action)})`;
  return action === SECCOMP_RET.ERRNO || action === SECCOMP_RET.TRACE || data !== 0 ? `${name}(${data})` : name;
}

function describeOffset(k: number): string {
  if (k === 0) return 'nr';
  if (k === 4) return 'arch';
  if (k === 8 || k === 12) return `instruction_pointer.${k === 8 ? 'lo' : 'hi'}`;
  if (k >= 16 && k < 64) return `args[${(k - 16) >> 3}].${k & 4 ? 'hi' : 'lo'}`;
  return '?';
}

const archNames = new Map<number, string>(Object.entries(AUDIT_ARCH).map(([n, v]) => [v, `AUDIT_ARCH_${n}`]));

const aluNames: Record<number, string> = {
  [BPF.ADD]: 'add', [BPF.SUB]: 'sub', [BPF.MUL]: 'mul', [BPF.DIV]: 'div', [BPF.OR]: 'or', [BPF.AND]: 'and',
  [BPF.LSH]: 'lsh', [BPF.RSH]: 'rsh', [BPF.NEG]: 'neg', [BPF.MOD]: 'mod', [BPF.XOR]: 'xor',
};
const jumpNames: Record<number, string> = { [BPF.JEQ]: 'jeq', [BPF.JGT]: 'jgt', [BPF.JGE]: 'jge', [BPF.JSET]: 'jset' };

function line(insn: SockFilter, pc: number): string {
  const { code, jt, jf, k } = insn;
  const src = bpfSrc(code) === BPF.X ? 'x' : `#${hex(k)}`;
  switch (bpfClass(code)) {
    case BPF.LD:
    case BPF.LDX: {
      const reg = bpfClass(code) === BPF.LD ? 'ld' : 'ldx';
      switch (bpfMode(code)) {
        case BPF.ABS: return `${reg} [${k}]`.padEnd(24) + `; ${describeOffset(k)}`;
        case BPF.IMM: return `${reg} #${hex(k)}`;
        case BPF.MEM: return `${reg} M[${k}]`;
        case BPF.LEN: return `${reg} #len`;
        default: return `${reg} ?mode ${hex(code)}`;
      }
    }
    case BPF.ST: return `st M[${k}]`;
    case BPF.STX: return `stx M[${k}]`;
    case BPF.ALU: return bpfOp(code) === BPF.NEG ? 'neg' : `${aluNames[bpfOp(code)] ?? '?alu'} ${src}`;
    case BPF.JMP: {
      if (bpfOp(code) === BPF.JA) return `ja ${pc + 1 + k}`;
      const cmp = `${jumpNames[bpfOp(code)] ?? '?jmp'} ${src}`;
      const note = archNames.get(k >>> 0);
      return `${cmp}`.padEnd(24) + `-> ${pc + 1 + jt} : ${pc + 1 + jf}` + (note ? `  ; ${note}` : '');
    }
    case BPF.RET:
      return bpfRval(code) === BPF.A ? 'ret a' : `ret #${hex(k)}`.padEnd(24) + `; ${describeSeccompReturn(k)}`;
    case BPF.MISC: return bpfMiscOp(code) === BPF.TAX ? 'tax' : 'txa';
    default: return `?? ${hex(code)}`;
  }
}

export function disassemble(program: Uint8Array | readonly SockFilter[]): string {
  const insns = program instanceof Uint8Array ? decodeProgram(program) : program;
  const width = Math.max(4, String(insns.length).length);
  return insns.map((insn, pc) => `${String(pc).padStart(width, '0')}: ${line(insn, pc)}`).join('\n');
}
