import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BPF, decodeProgram, encodeProgram, jump, stmt, type SockFilter } from '../../../src/runtime/seccomp/bpf.ts';
import { BpfAssembler } from '../../../src/runtime/seccomp/bpf-assembler.ts';
import { seccompProgramProblem } from '../../../src/runtime/seccomp/bpf-check.ts';
import { describeSeccompReturn, disassemble } from '../../../src/runtime/seccomp/bpf-disassemble.ts';
import { runFilter } from '../../../src/runtime/seccomp/bpf-interpret.ts';
import { AUDIT_ARCH, SECCOMP_RET } from '../../../src/runtime/seccomp/seccomp-constants.ts';

const LD_ABS = BPF.LD | BPF.W | BPF.ABS;
const RET_K = BPF.RET | BPF.K;

describe('sock_filter encoding', () => {
  it('writes {u16 code, u8 jt, u8 jf, u32 k} little-endian and reads it back', () => {
    const insns: SockFilter[] = [stmt(LD_ABS, 4), jump(BPF.JMP | BPF.JEQ | BPF.K, 0xc000003e, 1, 0), stmt(RET_K, 0x80000000), stmt(RET_K, 0x7fff0000)];
    const bytes = encodeProgram(insns);
    assert.equal(bytes.length, 32);
    assert.deepEqual([...bytes.subarray(8, 16)], [0x15, 0x00, 0x01, 0x00, 0x3e, 0x00, 0x00, 0xc0]);
    assert.deepEqual(decodeProgram(bytes), insns);
    assert.throws(() => decodeProgram(bytes.subarray(0, 12)), RangeError);
  });
});

describe('runFilter', () => {
  const program = (insns: SockFilter[]): Buffer => encodeProgram(insns);

  it('loads seccomp_data fields: nr, arch, instruction pointer and both words of each argument', () => {
    const input = { nr: 0x11, arch: AUDIT_ARCH.X86_64, instruction_pointer: 0x1122334455667788n, args: [1n, 2n, 3n, 4n, 5n, 0xaabbccdd00112233n] };
    const fieldAt = (k: number): number => runFilter(program([stmt(LD_ABS, k), stmt(BPF.RET | BPF.A, 0)]), input);
    assert.equal(fieldAt(0), 0x11);
    assert.equal(fieldAt(4), AUDIT_ARCH.X86_64);
    assert.equal(fieldAt(8), 0x55667788);
    assert.equal(fieldAt(12), 0x11223344);
    assert.equal(fieldAt(16), 1);
    assert.equal(fieldAt(16 + 8 * 4), 5);
    assert.equal(fieldAt(56), 0x00112233);
    assert.equal(fieldAt(60), 0xaabbccdd);
    // negative syscall numbers are u32 in seccomp_data
    assert.equal(runFilter(program([stmt(LD_ABS, 0), stmt(BPF.RET | BPF.A, 0)]), { nr: -1, arch: 0 }), 0xffffffff);
  });

  it('follows jt/jf and ja, and compares unsigned', () => {
    const p = program([
      stmt(LD_ABS, 0),
      jump(BPF.JMP | BPF.JGT | BPF.K, 0x7fffffff, 0, 2), // nr > 0x7fffffff ?
      stmt(BPF.JMP | BPF.JA, 2),
      stmt(RET_K, 1),
      stmt(RET_K, 2),
      stmt(RET_K, 3),
    ]);
    assert.equal(runFilter(p, { nr: 0x80000000, arch: 0 }), 3);
    assert.equal(runFilter(p, { nr: 5, arch: 0 }), 2);
    const jset = program([stmt(LD_ABS, 0), jump(BPF.JMP | BPF.JSET | BPF.K, 0x40000000, 0, 1), stmt(RET_K, 1), stmt(RET_K, 0)]);
    assert.equal(runFilter(jset, { nr: 0x40000005, arch: 0 }), 1);
    assert.equal(runFilter(jset, { nr: 5, arch: 0 }), 0);
  });

  it('computes ALU operations in 32 bits, with X, scratch memory and misc moves', () => {
    const alu = (op: number, a: number, k: number): number =>
      runFilter(program([stmt(BPF.LD | BPF.IMM, a), stmt(BPF.ALU | op | BPF.K, k), stmt(BPF.RET | BPF.A, 0)]), { nr: 0, arch: 0 });
    assert.equal(alu(BPF.ADD, 0xffffffff, 2), 1);
    assert.equal(alu(BPF.SUB, 0, 1), 0xffffffff);
    assert.equal(alu(BPF.MUL, 0x10000, 0x10000), 0);
    assert.equal(alu(BPF.DIV, 7, 2), 3);
    assert.equal(alu(BPF.MOD, 7, 4), 3);
    assert.equal(alu(BPF.AND, 0xf0f0, 0xff00), 0xf000);
    assert.equal(alu(BPF.OR, 0xf000, 0x000f), 0xf00f);
    assert.equal(alu(BPF.XOR, 0xff, 0x0f), 0xf0);
    assert.equal(alu(BPF.LSH, 1, 31), 0x80000000);
    assert.equal(alu(BPF.RSH, 0x80000000, 31), 1);
    assert.equal(alu(BPF.NEG, 1, 0), 0xffffffff);
    const viaX = program([
      stmt(BPF.LDX | BPF.IMM, 5), stmt(BPF.LD | BPF.IMM, 7), stmt(BPF.ALU | BPF.ADD | BPF.X, 0), stmt(BPF.ST, 3),
      stmt(BPF.LD | BPF.IMM, 0), stmt(BPF.LDX | BPF.MEM, 3), stmt(BPF.MISC | BPF.TXA, 0), stmt(BPF.RET | BPF.A, 0),
    ]);
    assert.equal(runFilter(viaX, { nr: 0, arch: 0 }), 12);
    const divZero = program([stmt(BPF.LDX | BPF.IMM, 0), stmt(BPF.LD | BPF.IMM, 9), stmt(BPF.ALU | BPF.DIV | BPF.X, 0), stmt(RET_K, 5)]);
    assert.equal(runFilter(divZero, { nr: 0, arch: 0 }), 0);
  });

  it('refuses programs the kernel would refuse', () => {
    const cases: [SockFilter[], RegExp][] = [
      [[], /empty/],
      [[stmt(LD_ABS, 0)], /last instruction/],
      [[stmt(LD_ABS, 2), stmt(RET_K, 0)], /aligned/],
      [[stmt(LD_ABS, 64), stmt(RET_K, 0)], /aligned/],
      [[stmt(BPF.LD | BPF.H | BPF.ABS, 0), stmt(RET_K, 0)], /32-bit/],
      [[jump(BPF.JMP | BPF.JEQ | BPF.K, 0, 1, 0), stmt(RET_K, 0)], /past the end/],
      [[stmt(BPF.JMP | BPF.JA, 1), stmt(RET_K, 0)], /past the end/],
      [[stmt(BPF.ALU | BPF.DIV | BPF.K, 0), stmt(RET_K, 0)], /division/],
      [Array.from({ length: 4097 }, () => stmt(RET_K, 0)), /4096/],
    ];
    for (const [insns, why] of cases) {
      assert.match(seccompProgramProblem(insns) ?? 'accepted', why);
      if (insns.length) assert.throws(() => runFilter(insns, { nr: 0, arch: 0 }), /invalid seccomp program/);
    }
    assert.equal(seccompProgramProblem(Array.from({ length: 4096 }, () => stmt(RET_K, 0))), undefined);
  });
});

describe('BpfAssembler', () => {
  it('resolves forward labels and keeps short jumps short', () => {
    const asm = new BpfAssembler();
    const yes = asm.newLabel();
    const no = asm.newLabel();
    asm.loadAbs(0);
    asm.jump('jeq', 42, yes, no);
    asm.place(no);
    asm.ret(1);
    asm.place(yes);
    asm.ret(2);
    const insns = asm.assemble();
    assert.deepEqual(insns[1], { code: BPF.JMP | BPF.JEQ | BPF.K, jt: 1, jf: 0, k: 42 });
    assert.equal(runFilter(insns, { nr: 42, arch: 0 }), 2);
    assert.equal(runFilter(insns, { nr: 41, arch: 0 }), 1);
  });

  it('inserts trampolines for branches further than 255 instructions', () => {
    for (const gap of [253, 254, 255, 256, 300, 1000, 3000]) {
      const asm = new BpfAssembler();
      const far = asm.newLabel();
      const farRet = asm.newLabel();
      const near = asm.newLabel();
      asm.loadAbs(0);
      asm.jump('jeq', 7, far, near); // to code that is not a ret: needs a `ja`
      asm.place(near);
      asm.jump('jge', 100, farRet, far);
      for (let i = 0; i < gap; i++) asm.ret(0x1000 + i);
      asm.place(far);
      asm.loadAbs(16);
      asm.ret(0x7fff0000);
      asm.place(farRet);
      asm.ret(0x50001);
      const insns = asm.assemble();
      assert.equal(seccompProgramProblem(insns), undefined, `gap ${gap}`);
      assert.equal(runFilter(insns, { nr: 7, arch: 0 }), 0x7fff0000, `gap ${gap}`);
      assert.equal(runFilter(insns, { nr: 150, arch: 0 }), 0x50001, `gap ${gap}`);
      assert.equal(runFilter(insns, { nr: 8, arch: 0 }), 0x7fff0000, `gap ${gap}`);
      assert.ok(insns.every((i) => i.jt <= 255 && i.jf <= 255));
      assert.deepEqual(decodeProgram(encodeProgram(insns)), insns);
      const longJumps = insns.filter((i) => i.code === (BPF.JMP | BPF.JA)).length;
      const retCopies = insns.filter((i) => i.code === RET_K && i.k === 0x50001).length - 1;
      if (gap <= 253) assert.deepEqual([longJumps, retCopies], [0, 0], `gap ${gap}`);
      // A far `ret` target is copied next to the jump; far code gets a `ja`.
      if (gap >= 256) {
        assert.ok(longJumps >= 1, `gap ${gap}`);
        assert.equal(retCopies, 1, `gap ${gap}`);
      }
    }
  });

  it('refuses labels that are never placed or jumped to backwards', () => {
    const asm = new BpfAssembler();
    const back = asm.newLabel();
    asm.place(back);
    asm.loadAbs(0);
    asm.jump('jeq', 1, back, asm.newLabel());
    assert.throws(() => asm.assemble(), /backwards|never placed/);
  });
});

describe('disassemble', () => {
  it('prints loads with their seccomp_data field, absolute jump targets and named returns', () => {
    const text = disassemble(encodeProgram([
      stmt(LD_ABS, 4),
      jump(BPF.JMP | BPF.JEQ | BPF.K, AUDIT_ARCH.X86_64, 1, 0),
      stmt(RET_K, SECCOMP_RET.KILL_PROCESS),
      stmt(LD_ABS, 28),
      stmt(BPF.ALU | BPF.AND | BPF.K, 0xff),
      stmt(BPF.JMP | BPF.JA, 0),
      stmt(RET_K, (SECCOMP_RET.ERRNO | 38) >>> 0),
    ]));
    const lines = text.split('\n');
    assert.equal(lines.length, 7);
    assert.match(lines[0]!, /^0000: ld \[4\]\s+; arch$/);
    assert.match(lines[1]!, /^0001: jeq #0xc000003e\s+-> 3 : 2\s+; AUDIT_ARCH_X86_64$/);
    assert.match(lines[2]!, /ret #0x80000000\s+; KILL_PROCESS$/);
    assert.match(lines[3]!, /ld \[28\]\s+; args\[1\]\.hi$/);
    assert.match(lines[4]!, /and #0xff$/);
    assert.match(lines[5]!, /ja 6$/);
    assert.match(lines[6]!, /; ERRNO\(38\)$/);
  });

  it('names every seccomp return', () => {
    assert.equal(describeSeccompReturn(SECCOMP_RET.ALLOW), 'ALLOW');
    assert.equal(describeSeccompReturn(SECCOMP_RET.KILL_THREAD), 'KILL_THREAD');
    assert.equal(describeSeccompReturn((SECCOMP_RET.TRACE | 5) >>> 0), 'TRACE(5)');
    assert.equal(describeSeccompReturn(SECCOMP_RET.LOG), 'LOG');
    assert.equal(describeSeccompReturn(0x12340000), 'UNKNOWN(0x12340000)');
  });
});
