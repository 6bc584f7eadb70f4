import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedOutput, EXEC_SYNC_OUTPUT_CAP } from '../../../src/cri/bounded-output.ts';

test('ExecSync output keeps at most the cap and counts what it dropped', () => {
  assert.equal(EXEC_SYNC_OUTPUT_CAP, 16 * 1024 * 1024);
  const out = new BoundedOutput(10);
  out.push(Buffer.from('hello'));
  assert.equal(out.truncated, false);
  out.push(Buffer.from('world!!'));
  out.push(Buffer.from('more'));
  assert.equal(out.bytes().toString(), 'helloworld');
  assert.equal(out.dropped, 6);
  assert.equal(out.truncated, true);
  const exact = new BoundedOutput(3);
  exact.push(Buffer.from('abc'));
  assert.equal(exact.truncated, false);
  assert.equal(exact.bytes().toString(), 'abc');
});
