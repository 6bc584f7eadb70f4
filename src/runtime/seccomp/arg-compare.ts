// Code for one argument condition on a 64-bit seccomp_data argument, as two 32-bit word
// comparisons (classic BPF compares 32 bits, unsigned). On a 32-bit ABI the argument is its low
// word zero-extended, so the high-word test is decided here at compile time.

import type { BpfAssembler, Label } from './bpf-assembler.ts';
import type { SeccompCondition } from './profile.ts';
import { argOffset } from './seccomp-constants.ts';

const MASK32 = 0xffffffffn;
const hiOf = (v: bigint): number => Number((v >> 32n) & MASK32);
const loOf = (v: bigint): number => Number(v & MASK32);

/** A condition's outcome known at compile time, or 'runtime' when code must test it. */
export type StaticOutcome = true | false | 'runtime';

export function staticOutcome(cond: SeccompCondition, argBits: 32 | 64): StaticOutcome {
  const max = argBits === 64 ? (1n << 64n) - 1n : MASK32;
  const v = cond.value;
  switch (cond.op) {
    case 'EQ': return v > max ? false : 'runtime';
    case 'NE': return v > max ? true : 'runtime';
    case 'GT': return v >= max ? false : 'runtime';
    case 'LE': return v >= max ? true : 'runtime';
    case 'GE': return v === 0n ? true : v > max ? false : 'runtime';
    case 'LT': return v === 0n ? false : v > max ? true : 'runtime';
    case 'MASKED_EQ': {
      const mask = v & max;
      // Bits wanted outside the mask (or outside the argument) can never match.
      if ((cond.valueTwo & ~mask) !== 0n) return false;
      return mask === 0n ? true : 'runtime';
    }
  }
}

/**
 * Emits code that falls through when `cond` holds for the current syscall and jumps to `onFalse`
 * when it does not. Call only for conditions whose staticOutcome is 'runtime'.
 */
export function emitCondition(asm: BpfAssembler, cond: SeccompCondition, argBits: 32 | 64, onFalse: Label): void {
  const onTrue = asm.newLabel();
  const lo = argOffset(cond.index, 'lo');
  const hi = argOffset(cond.index, 'hi');
  const v = cond.value;
  // With a 32-bit ABI, or when the value's high word leaves nothing to decide, only the low word
  // is tested. staticOutcome has ruled out values above the argument's range.
  const wide = argBits === 64;
  switch (cond.op) {
    case 'EQ':
    case 'NE': {
      const [yes, no] = cond.op === 'EQ' ? [onTrue, onFalse] : [onFalse, onTrue];
      if (wide) {
        const checkLo = asm.newLabel();
        asm.loadAbs(hi);
        asm.jump('jeq', hiOf(v), checkLo, no);
        asm.place(checkLo);
      }
      asm.loadAbs(lo);
      asm.jump('jeq', loOf(v), yes, no);
      break;
    }
    case 'GT':
    case 'GE':
    case 'LT':
    case 'LE': {
      // LT is "not GE" and LE is "not GT": emit the positive test with swapped targets.
      const strict = cond.op === 'GT' || cond.op === 'LE';
      const [yes, no] = cond.op === 'GT' || cond.op === 'GE' ? [onTrue, onFalse] : [onFalse, onTrue];
      if (wide) {
        const hiEqual = asm.newLabel();
        const checkLo = asm.newLabel();
        asm.loadAbs(hi);
        asm.jump('jgt', hiOf(v), yes, hiEqual);
        asm.place(hiEqual);
        asm.jump('jeq', hiOf(v), checkLo, no);
        asm.place(checkLo);
      }
      asm.loadAbs(lo);
      asm.jump(strict ? 'jgt' : 'jge', loOf(v), yes, no);
      break;
    }
    case 'MASKED_EQ': {
      const mask = cond.value;
      const want = cond.valueTwo;
      if (wide && hiOf(mask) !== 0) {
        const checkLo = asm.newLabel();
        asm.loadAbs(hi);
        if (hiOf(mask) !== 0xffffffff) asm.andK(hiOf(mask));
        asm.jump('jeq', hiOf(want), checkLo, onFalse);
        asm.place(checkLo);
      }
      if (loOf(mask) !== 0) {
        asm.loadAbs(lo);
        if (loOf(mask) !== 0xffffffff) asm.andK(loOf(mask));
        asm.jump('jeq', loOf(want), onTrue, onFalse);
      }
      break;
    }
  }
  asm.place(onTrue);
}
