// A tiny classic-BPF assembler with symbolic forward labels. Conditional jumps reach at most 255
// instructions ahead (jt/jf are u8), so `assemble` relaxes the program: a branch that lands too
// far gets a trampoline placed right after its jump, a copy of the target's `ret` when the
// target is a return, otherwise a `ja` (whose 32-bit offset reaches anywhere).

import { BPF, type SockFilter } from './bpf.ts';

export type Label = number & { readonly __label: unique symbol };

export type JumpCond = 'jeq' | 'jgt' | 'jge' | 'jset';

type Item =
  | { kind: 'label'; label: Label }
  | { kind: 'stmt'; code: number; k: number }
  | { kind: 'jmp'; cond: JumpCond; k: number; jt: Label; jf: Label }
  | { kind: 'ja'; target: Label }
  | { kind: 'ret'; k: number };

const jumpCodes: Record<JumpCond, number> = {
  jeq: BPF.JMP | BPF.JEQ | BPF.K,
  jgt: BPF.JMP | BPF.JGT | BPF.K,
  jge: BPF.JMP | BPF.JGE | BPF.K,
  jset: BPF.JMP | BPF.JSET | BPF.K,
};

const MAX_SHORT_JUMP = 255;

export class BpfAssembler {
  private items: Item[] = [];
  private nextLabel = 0;
  private placed = new Set<Label>();

  newLabel(): Label {
    return this.nextLabel++ as Label;
  }

  /** Places `label` at the current position; every jump to it must come before. */
  place(label: Label): void {
    if (this.placed.has(label)) throw new Error(`BPF label ${label} placed twice`);
    this.placed.add(label);
    this.items.push({ kind: 'label', label });
  }

  /** A = u32 at byte offset k of seccomp_data. */
  loadAbs(k: number): void {
    this.items.push({ kind: 'stmt', code: BPF.LD | BPF.W | BPF.ABS, k });
  }

  andK(k: number): void {
    this.items.push({ kind: 'stmt', code: BPF.ALU | BPF.AND | BPF.K, k: k >>> 0 });
  }

  /** if (A <cond> k) goto jt else goto jf. */
  jump(cond: JumpCond, k: number, jt: Label, jf: Label): void {
    this.items.push({ kind: 'jmp', cond, k: k >>> 0, jt, jf });
  }

  goto(target: Label): void {
    this.items.push({ kind: 'ja', target });
  }

  ret(k: number): void {
    this.items.push({ kind: 'ret', k: k >>> 0 });
  }

  /** Resolves labels, inserting trampolines where a branch is out of u8 range. */
  assemble(): SockFilter[] {
    let items = this.items.slice();
    for (;;) {
      const { positions, indexOf } = layout(items);
      const inserts = new Map<number, Item[]>();
      const patched = items.map((item, i) => {
        if (item.kind !== 'jmp') return item;
        const here = indexOf[i]!;
        let { jt, jf } = item;
        const extra: Item[] = [];
        for (const branch of ['jt', 'jf'] as const) {
          const target = item[branch];
          const distance = positionOf(positions, target) - here - 1;
          if (distance < 0) throw new Error(`BPF jump backwards to label ${target}`);
          if (distance <= MAX_SHORT_JUMP) continue;
          const hop = this.newLabel();
          extra.push({ kind: 'label', label: hop }, trampoline(items, target));
          if (branch === 'jt') jt = hop;
          else jf = hop;
        }
        if (extra.length) inserts.set(i, extra);
        return extra.length ? { ...item, jt, jf } : item;
      });
      if (inserts.size === 0) return encode(items, positions);
      items = patched.flatMap((item, i) => [item, ...(inserts.get(i) ?? [])]);
    }
  }
}

function positionOf(positions: Map<Label, number>, label: Label): number {
  const p = positions.get(label);
  if (p === undefined) throw new Error(`BPF label ${label} never placed`);
  return p;
}

function layout(items: Item[]): { positions: Map<Label, number>; indexOf: number[] } {
  const positions = new Map<Label, number>();
  const indexOf: number[] = [];
  let pc = 0;
  items.forEach((item, i) => {
    indexOf[i] = pc;
    if (item.kind === 'label') positions.set(item.label, pc);
    else pc++;
  });
  return { positions, indexOf };
}

/** The instruction to put near a far branch: a copy of the target's `ret`, else a long jump. */
function trampoline(items: Item[], target: Label): Item {
  const at = items.findIndex((it) => it.kind === 'label' && it.label === target);
  const first = items.slice(at).find((it) => it.kind !== 'label');
  return first?.kind === 'ret' ? { ...first } : { kind: 'ja', target };
}

function encode(items: Item[], positions: Map<Label, number>): SockFilter[] {
  const out: SockFilter[] = [];
  for (const item of items) {
    const pc = out.length;
    switch (item.kind) {
      case 'label':
        break;
      case 'stmt':
        out.push({ code: item.code, jt: 0, jf: 0, k: item.k >>> 0 });
        break;
      case 'ret':
        out.push({ code: BPF.RET | BPF.K, jt: 0, jf: 0, k: item.k >>> 0 });
        break;
      case 'ja': {
        const k = positionOf(positions, item.target) - pc - 1;
        if (k < 0) throw new Error(`BPF jump backwards to label ${item.target}`);
        out.push({ code: BPF.JMP | BPF.JA, jt: 0, jf: 0, k });
        break;
      }
      case 'jmp':
        out.push({
          code: jumpCodes[item.cond],
          jt: positionOf(positions, item.jt) - pc - 1,
          jf: positionOf(positions, item.jf) - pc - 1,
          k: item.k >>> 0,
        });
        break;
    }
  }
  return out;
}
