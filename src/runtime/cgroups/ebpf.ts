// The few eBPF instructions the device program uses, and their 8-byte little-endian encoding
// (kernel Documentation/bpf/standardization/instruction-set.rst, linux/bpf.h struct bpf_insn):
// u8 opcode; u8 dst_reg:4 (low nibble), src_reg:4 (high nibble); s16 offset; s32 imm.

export const EBPF = {
  // classes
  LDX: 0x01,
  ALU: 0x04, // 32-bit: the result is zero-extended to 64 bits
  JMP: 0x05, // 64-bit compares
  // ldx: mode | size
  MEM: 0x60,
  W: 0x00,
  // alu ops
  AND: 0x50,
  RSH: 0x70,
  MOV: 0xb0,
  // jmp ops
  JA: 0x00,
  JSET: 0x40,
  JNE: 0x50,
  EXIT: 0x90,
  // sources
  K: 0x00,
  X: 0x08,
} as const;

export interface EbpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export const INSN_SIZE = 8;

const insn = (code: number, dst: number, src: number, off: number, imm: number): EbpfInsn => ({ code, dst, src, off, imm });

/** dst = *(u32 *)(src + off) */
export const ldxW = (dst: number, src: number, off: number): EbpfInsn => insn(EBPF.LDX | EBPF.MEM | EBPF.W, dst, src, off, 0);
/** 32-bit dst op= imm */
export const alu32Imm = (op: number, dst: number, imm: number): EbpfInsn => insn(EBPF.ALU | op | EBPF.K, dst, 0, 0, imm | 0);
/** if (dst op imm) goto pc + 1 + off; imm is sign-extended to 64 bits */
export const jmpImm = (op: number, dst: number, imm: number, off: number): EbpfInsn => insn(EBPF.JMP | op | EBPF.K, dst, 0, off, imm | 0);
/** if (dst op src) goto pc + 1 + off */
export const jmpReg = (op: number, dst: number, src: number, off: number): EbpfInsn => insn(EBPF.JMP | op | EBPF.X, dst, src, off, 0);
export const ja = (off: number): EbpfInsn => insn(EBPF.JMP | EBPF.JA, 0, 0, off, 0);
export const exit = (): EbpfInsn => insn(EBPF.JMP | EBPF.EXIT, 0, 0, 0, 0);

export function encodeEbpf(program: readonly EbpfInsn[]): Uint8Array {
  const out = new Uint8Array(program.length * INSN_SIZE);
  const view = new DataView(out.buffer);
  program.forEach((p, i) => {
    const at = i * INSN_SIZE;
    if (p.off < -0x8000 || p.off > 0x7fff) throw new RangeError(`eBPF instruction ${i}: jump offset ${p.off} does not fit in 16 bits`);
    view.setUint8(at, p.code);
    view.setUint8(at + 1, ((p.src & 0xf) << 4) | (p.dst & 0xf));
    view.setInt16(at + 2, p.off, true);
    view.setInt32(at + 4, p.imm | 0, true);
  });
  return out;
}
