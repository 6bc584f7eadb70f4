// The plan contract between TypeScript and C has one schema (src/sys/plan-ops.ts + PLAN_LAYOUT):
// the C header is generated from it, and berth-spawn's own decoder (native/plan.c, through the
// plan-dump test tool) reads back what the TypeScript encoder wrote, for every operation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planHeader } from '../../../src/sys/plan-header.ts';
import { OPCODES, type OpKind, type Plan, type PlanOp } from '../../../src/sys/plan-ops.ts';
import { encodePlan, PLAN_LAYOUT, type Codec } from '../../../src/sys/plan-wire.ts';
import { CLONE_FLAG } from '../../../src/sys/kernel-constants.ts';
import { repoRoot } from '../../support/cli.ts';

const planDump = join(repoRoot, 'native/build/plan-dump');

test('native/plan-ops.generated.h is what the schema generates (npm run build:plan-header)', () => {
  assert.equal(readFileSync(join(repoRoot, 'native/plan-ops.generated.h'), 'utf8'), planHeader());
});

// A distinct sample value per codec and position, and the bytes the C side must see for it.
function sample(codec: Codec, i: number): { value: unknown; hex: string } {
  const u64 = (n: bigint): string => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return b.toString('hex');
  };
  switch (codec) {
    case 'str':
      return { value: `/p${i}/é`, hex: Buffer.from(`/p${i}/é`).toString('hex') };
    case 'nstr':
      return i % 2 ? { value: null, hex: '-' } : { value: `s${i}`, hex: Buffer.from(`s${i}`).toString('hex') };
    case 'num':
      return { value: 1000 + i, hex: u64(BigInt(1000 + i)) };
    case 'big':
      return { value: (1n << 63n) + BigInt(i), hex: u64((1n << 63n) + BigInt(i)) };
    case 'bool':
      return { value: true, hex: u64(1n) };
    case 'list':
      return { value: ['a', '', `c${i}`], hex: Buffer.from(`a\0\0c${i}\0`).toString('hex') };
    case 'gids':
      return { value: [7, 4294967295], hex: '07000000ffffffff' };
    case 'bytes':
      return { value: new Uint8Array([i, 0, 255]), hex: Buffer.from([i, 0, 255]).toString('hex') };
    case 'ns':
      return { value: 'network', hex: u64(BigInt(CLONE_FLAG.network)) };
    case 'nslist':
      return { value: ['pid', 'mount'], hex: u64(BigInt(CLONE_FLAG.pid | CLONE_FLAG.mount)) };
  }
}

test('berth-spawn decodes every operation with the opcode, argument count and bytes TypeScript encoded', () => {
  const expected: string[] = [];
  const plan: Plan = (Object.keys(OPCODES) as OpKind[]).map((kind) => {
    const op: Record<string, unknown> = { kind };
    const hex: string[] = [];
    PLAN_LAYOUT[kind].forEach(([field, codec], i) => {
      const s = sample(codec, i);
      op[field] = s.value;
      hex.push(s.hex);
    });
    if (kind === 'capset') {
      op.phase = 'sets';
      hex[hex.length - 1] = '0100000000000000';
    }
    expected.push([OPCODES[kind], PLAN_LAYOUT[kind].length, ...hex].join(' '));
    return op as unknown as PlanOp;
  });
  const out = execFileSync(planDump, { input: encodePlan(plan), encoding: 'utf8' });
  assert.deepEqual(out.trimEnd().split('\n'), expected);
});

test('berth-spawn refuses an operation whose argument count is not the schema\'s', () => {
  const buf = encodePlan([{ kind: 'umask', mask: 0o22 }]);
  buf.writeUInt16LE(2, 16 + 2); // argc 2 for an op with one argument
  const r = spawnSync(planDump, { input: buf, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad opcode 19 or argc 2/);
});
