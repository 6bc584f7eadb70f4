import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, frame } from '../../../src/runtime/attach-client.ts';
import { BerthError } from '../../../src/oci/errors.ts';

test('attach frames: type, big-endian length, payload; split anywhere', () => {
  const a = frame(1, Buffer.from('hello'));
  assert.deepEqual([...a.subarray(0, 5)], [1, 0, 0, 0, 5]);
  const b = frame(2, Buffer.from('err'));
  const both = Buffer.concat([a, b, frame(1, Buffer.alloc(0))]);
  for (let cut = 0; cut <= both.length; cut++) {
    const r = new FrameReader();
    const got = [...r.push(both.subarray(0, cut)), ...r.push(both.subarray(cut))];
    assert.deepEqual(got.map((f) => [f.type, f.payload.toString()]), [[1, 'hello'], [2, 'err'], [1, '']], `cut at ${cut}`);
  }
  const huge = Buffer.from([1, 0, 2, 0, 0]);
  assert.throws(() => new FrameReader().push(huge), (e: unknown) => e instanceof BerthError && /larger than 65536/.test(e.message));
});
