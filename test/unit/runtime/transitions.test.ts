// The runtime's transition table: which of runc's operations is allowed in which status, and the
// refusal each gives (the same words runc uses, which callers such as conmon match on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerStatus } from '../../../src/oci/runtime-spec.ts';
import { allowed, requireStatus, type RuntimeOperation } from '../../../src/runtime/transitions.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const STATUSES: ContainerStatus[] = ['creating', 'created', 'running', 'paused', 'stopped'];

test('each operation in each status', () => {
  const table: Record<RuntimeOperation, ContainerStatus[]> = {
    start: ['created'],
    kill: ['creating', 'created', 'running', 'paused'],
    delete: ['creating', 'created', 'stopped', 'paused'],
    exec: ['created', 'running'],
    pause: ['created', 'running'],
    resume: ['paused'],
    update: ['creating', 'created', 'running', 'paused'],
  };
  for (const [op, ok] of Object.entries(table) as Array<[RuntimeOperation, ContainerStatus[]]>) {
    for (const s of STATUSES) assert.equal(allowed(op, s), ok.includes(s), `${op} when ${s}`);
  }
  for (const s of STATUSES) assert.equal(allowed('delete', s, true), true, `delete --force when ${s}`);
});

test('refusals', () => {
  const refusal = (op: RuntimeOperation, status: ContainerStatus): string => {
    try {
      requireStatus(op, 'c1', status);
    } catch (err) {
      assert.ok(err instanceof BerthError && err.kind === 'failed-precondition' && err.where.op === op);
      return err.message;
    }
    return 'allowed';
  };
  assert.equal(refusal('start', 'running'), 'cannot start container "c1": it is running, not created');
  assert.equal(refusal('kill', 'stopped'), 'container "c1" is not running');
  assert.equal(refusal('delete', 'running'), 'cannot delete container "c1" that is running: stop it first or use --force');
  assert.equal(refusal('exec', 'paused'), 'cannot exec in container "c1": it is paused');
  assert.equal(refusal('pause', 'stopped'), 'cannot pause container "c1": it is stopped');
  assert.equal(refusal('resume', 'running'), 'cannot resume container "c1": it is not paused');
  assert.equal(refusal('update', 'stopped'), 'cannot update container "c1": it is stopped');
  assert.equal(refusal('start', 'created'), 'allowed');
});
