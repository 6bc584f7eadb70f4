// A small eBPF interpreter for BPF_PROG_TYPE_CGROUP_DEVICE programs, written from the instruction
// set document (not from berth's encoder): it decodes the raw bytes itself, first checks what the
// kernel's verifier would reject in the subset it knows (unknown opcodes, jumps out of range or
// backwards, unreachable instructions, falling off the end, reading a register no path has
// written, context reads other than u32 at 0/4/8, a return value other than 0 or 1), then runs the
// program on one struct bpf_cgroup_dev_ctx.

export interface DevCtx {
  /** (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_* */
  accessType: number;
  major: number;
  minor: number;
}

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const U64 = (1n << 64n) - 1n;
const U32 = 0xffffffffn;
const CTX_REG = 1;
const FP_REG = 10;
const CTX_FIELDS = new Set([0, 4, 8]);

const CLASS = { LDX: 0x01, ALU: 0x04, JMP: 0x05, ALU64: 0x07 } as const;
const ALU_OPS = new Map<number, string>([[0x00, 'add'], [0x10, 'sub'], [0x40, 'or'], [0x50, 'and'], [0x60, 'lsh'], [0x70, 'rsh'], [0xa0, 'xor'], [0xb0, 'mov']]);
const JMP_OPS = new Map<number, string>([[0x10, 'jeq'], [0x20, 'jgt'], [0x30, 'jge'], [0x40, 'jset'], [0x50, 'jne'], [0xa0, 'jlt'], [0xb0, 'jle']]);
const LDX_W_MEM = 0x61;
const JA = 0x05;
const EXIT = 0x95;

export function decode(bytes: Uint8Array): Insn[] {
  if (bytes.length === 0 || bytes.length % 8 !== 0) throw new Error(`program length ${bytes.length} is not a positive multiple of 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    const regs = view.getUint8(at + 1);
    out.push({ code: view.getUint8(at), dst: regs & 0xf, src: regs >> 4, off: view.getInt16(at + 2, true), imm: view.getInt32(at + 4, true) });
  }
  return out;
}

type Kind = 'alu' | 'ldx' | 'jmp' | 'ja' | 'exit';

function kindOf(i: Insn, pc: number): Kind {
  const cls = i.code & 0x07;
  const op = i.code & 0xf0;
  if (i.code === LDX_W_MEM) return 'ldx';
  if (i.code === JA) return 'ja';
  if (i.code === EXIT) return 'exit';
  if ((cls === CLASS.ALU || cls === CLASS.ALU64) && ALU_OPS.has(op)) return 'alu';
  if (cls === CLASS.JMP && JMP_OPS.has(op)) return 'jmp';
  throw new Error(`insn ${pc}: opcode 0x${i.code.toString(16)} is outside the known subset`);
}

const usesSrcReg = (i: Insn): boolean => (i.code & 0x08) !== 0;

/** What the verifier would say about the program, or undefined when it would load. */
export function verifyProblem(bytes: Uint8Array): string | undefined {
  let insns: Insn[];
  try {
    insns = decode(bytes);
    insns.forEach((i, pc) => kindOf(i, pc));
  } catch (err) {
    return (err as Error).message;
  }
  const n = insns.length;
  // Registers written on every path to each instruction (forward-only jumps make this one pass).
  const known: Array<Set<number> | undefined> = new Array(n);
  known[0] = new Set([CTX_REG, FP_REG]);
  const ctxRegs: Array<Set<number> | undefined> = new Array(n);
  ctxRegs[0] = new Set([CTX_REG]);
  const flow = (to: number, from: number, regs: Set<number>, ctx: Set<number>): string | undefined => {
    if (to <= from) return `insn ${from}: jump back to ${to}`;
    if (to >= n) return `insn ${from}: jump out of range to ${to}`;
    const k = known[to];
    known[to] = k ? new Set([...k].filter((r) => regs.has(r))) : new Set(regs);
    const c = ctxRegs[to];
    ctxRegs[to] = c ? new Set([...c].filter((r) => ctx.has(r))) : new Set(ctx);
    return undefined;
  };
  for (let pc = 0; pc < n; pc++) {
    const i = insns[pc]!;
    const regs = known[pc];
    const ctx = ctxRegs[pc]!;
    if (!regs) return `insn ${pc} is unreachable`;
    const need = (r: number): string | undefined => (regs.has(r) ? undefined : `insn ${pc}: R${r} is read before any write`);
    const after = new Set(regs);
    const ctxAfter = new Set(ctx);
    switch (kindOf(i, pc)) {
      case 'ldx': {
        const bad = need(i.src);
        if (bad) return bad;
        if (!ctx.has(i.src)) return `insn ${pc}: load through R${i.src}, which is not the context`;
        if (!CTX_FIELDS.has(i.off)) return `insn ${pc}: invalid bpf_context access off=${i.off} size=4`;
        if (i.dst === FP_REG) return `insn ${pc}: R10 is read-only`;
        after.add(i.dst);
        ctxAfter.delete(i.dst);
        break;
      }
      case 'alu': {
        const op = i.code & 0xf0;
        if (op !== 0xb0) {
          const bad = need(i.dst);
          if (bad) return bad;
        }
        if (usesSrcReg(i)) {
          const bad = need(i.src);
          if (bad) return bad;
          if (ctx.has(i.src)) return `insn ${pc}: pointer arithmetic on the context`;
        }
        if (ctx.has(i.dst) && op !== 0xb0) return `insn ${pc}: pointer arithmetic on the context`;
        if (i.dst === FP_REG) return `insn ${pc}: R10 is read-only`;
        after.add(i.dst);
        ctxAfter.delete(i.dst);
        break;
      }
      case 'jmp': {
        const bad = need(i.dst) ?? (usesSrcReg(i) ? need(i.src) : undefined);
        if (bad) return bad;
        const err = flow(pc + 1 + i.off, pc, after, ctxAfter);
        if (err) return err;
        break;
      }
      case 'ja': {
        const err = flow(pc + 1 + i.off, pc, after, ctxAfter);
        if (err) return err;
        continue; // no fall-through
      }
      case 'exit': {
        const bad = need(0);
        if (bad) return `insn ${pc}: R0 !read_ok at exit`;
        continue;
      }
    }
    if (pc + 1 >= n) return `insn ${pc}: falls off the end of the program`;
    const err = flow(pc + 1, pc, after, ctxAfter);
    if (err) return err;
  }
  return undefined;
}

function alu(op: number, is64: boolean, dst: bigint, operand: bigint): bigint {
  const a = is64 ? dst : dst & U32;
  const b = is64 ? operand : operand & U32;
  const width = is64 ? 64 : 32;
  const shift = b & BigInt(width - 1);
  const r =
    op === 0x00 ? a + b
    : op === 0x10 ? a - b
    : op === 0x40 ? a | b
    : op === 0x50 ? a & b
    : op === 0x60 ? a << shift
    : op === 0x70 ? a >> shift
    : op === 0xa0 ? a ^ b
    : b; // mov
  return BigInt.asUintN(width, r);
}

function jumps(op: number, a: bigint, b: bigint): boolean {
  switch (op) {
    case 0x10: return a === b;
    case 0x20: return a > b;
    case 0x30: return a >= b;
    case 0x40: return (a & b) !== 0n;
    case 0x50: return a !== b;
    case 0xa0: return a < b;
    default: return a <= b; // jle
  }
}

/** Checks a device program as the verifier would and returns it as a function of the request. */
export function loadDeviceProgram(bytes: Uint8Array): (ctx: DevCtx) => number {
  const problem = verifyProblem(bytes);
  if (problem) throw new Error(`the verifier would reject the program: ${problem}`);
  const insns = decode(bytes);
  return (ctx) => run(insns, ctx);
}

/** Runs a device program on one request; returns its R0 (1 allows, 0 denies). Throws when the verifier would reject it. */
export function runDeviceProgram(bytes: Uint8Array, ctx: DevCtx): number {
  return loadDeviceProgram(bytes)(ctx);
}

function run(insns: readonly Insn[], ctx: DevCtx): number {
  const mem = new DataView(new ArrayBuffer(12));
  mem.setUint32(0, ctx.accessType >>> 0, true);
  mem.setUint32(4, ctx.major >>> 0, true);
  mem.setUint32(8, ctx.minor >>> 0, true);
  const r: bigint[] = new Array(11).fill(0n);
  for (let pc = 0, steps = 0; steps < 1_000_000; steps++) {
    const i = insns[pc]!;
    const kind = kindOf(i, pc);
    const operand = usesSrcReg(i) ? r[i.src]! : BigInt.asUintN(64, BigInt(i.imm));
    if (kind === 'ldx') r[i.dst] = BigInt(mem.getUint32(i.off, true));
    else if (kind === 'alu') r[i.dst] = alu(i.code & 0xf0, (i.code & 0x07) === CLASS.ALU64, r[i.dst]!, operand);
    else if (kind === 'ja') {
      pc += 1 + i.off;
      continue;
    } else if (kind === 'exit') {
      const ret = r[0]! & U64;
      if (ret !== 0n && ret !== 1n) throw new Error(`insn ${pc}: returns ${ret}; a cgroup device program returns 0 or 1`);
      return Number(ret);
    } else if (jumps(i.code & 0xf0, r[i.dst]!, operand)) {
      pc += 1 + i.off;
      continue;
    }
    pc++;
  }
  throw new Error('program did not finish');
}

/** One line per instruction, for failure messages. */
export function disassemble(bytes: Uint8Array): string[] {
  return decode(bytes).map((i, pc) => {
    const src = usesSrcReg(i) ? `r${i.src}` : String(i.imm);
    const cls = i.code & 0x07;
    if (i.code === LDX_W_MEM) return `${pc}: r${i.dst} = *(u32 *)(r${i.src} ${i.off >= 0 ? '+' : '-'} ${Math.abs(i.off)})`;
    if (i.code === JA) return `${pc}: goto ${pc + 1 + i.off}`;
    if (i.code === EXIT) return `${pc}: exit`;
    if (cls === CLASS.ALU || cls === CLASS.ALU64) return `${pc}: ${cls === CLASS.ALU ? 'w' : 'r'}${i.dst} ${ALU_OPS.get(i.code & 0xf0) ?? '?'} ${src}`;
    return `${pc}: if r${i.dst} ${JMP_OPS.get(i.code & 0xf0) ?? '?'} ${src} goto ${pc + 1 + i.off}`;
  });
}
