import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/oci/errors.ts';
import { blkioWeightToIoWeight, cpuSharesToWeight, cpuSharesToWeightLinear, memorySwapToV2 } from '../../../src/runtime/cgroups/v2-conversions.ts';

test('cpu shares -> weight: the current runc/crun curve (1024 -> 100) at its fixed points', () => {
  // The cases of opencontainers/cgroups' own test: unset, min, just above min, default, max, out of range.
  const cases: Array<[number, number]> = [[0, 0], [1, 1], [2, 1], [3, 2], [1024, 100], [262143, 10000], [262144, 10000], [262145, 10000]];
  for (const [shares, weight] of cases) assert.equal(cpuSharesToWeight(shares), weight, `shares ${shares}`);
  assert.equal(cpuSharesToWeight(512), 59);
  assert.equal(cpuSharesToWeight(2048), 174);
});

test('cpu shares -> weight: the older linear formula, as runc 1.1 has it', () => {
  const cases: Array<[number, number]> = [[0, 0], [2, 1], [1024, 39], [262144, 10000]];
  for (const [shares, weight] of cases) assert.equal(cpuSharesToWeightLinear(shares), weight, `shares ${shares}`);
});

test('blkio weight [10..1000] -> io.weight [1..10000]', () => {
  assert.equal(blkioWeightToIoWeight(0), 0);
  assert.equal(blkioWeightToIoWeight(10), 1);
  assert.equal(blkioWeightToIoWeight(500), 4950);
  assert.equal(blkioWeightToIoWeight(1000), 10000);
});

test('memory+swap -> v2 swap, with runc test table', () => {
  const ok: Array<[number, number, number]> = [
    [0, 0, 0], [-1, 0, -1], [-1, -1, -1], [0, -1, -1], [-1, 1000, -1], [1000, 1000, 0], [500, 200, 300],
  ];
  for (const [swap, limit, want] of ok) assert.equal(memorySwapToV2(swap, limit), want, `swap ${swap} limit ${limit}`);
  for (const [swap, limit] of [[-2, 0], [300, 400], [300, 0], [300, -1]] as Array<[number, number]>) {
    assert.throws(() => memorySwapToV2(swap, limit), (err: unknown) => err instanceof BerthError && err.where.field === 'linux.resources.memory.swap');
  }
});
