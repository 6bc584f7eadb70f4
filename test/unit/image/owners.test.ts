// Who owns a lease or an ingest lock, and which extraction snapshots no live operation owns (pure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatOwner, ownerAlive, parseOwner, thisProcess } from '../../../src/image/process-owner.ts';
import { extractionKey, isStaleExtraction } from '../../../src/image/leases.ts';

test('an owner is a pid and its start time; a reused pid is not the owner', () => {
  const me = thisProcess();
  assert.equal(me.pid, process.pid);
  assert.ok(me.startTime! > 0);
  assert.deepEqual(parseOwner(formatOwner(me)), me);
  assert.deepEqual(parseOwner('123'), { pid: 123 });
  assert.equal(parseOwner(''), undefined);
  assert.equal(parseOwner('0'), undefined);
  assert.equal(parseOwner('12 x'), undefined);
  assert.ok(ownerAlive(me));
  assert.equal(ownerAlive({ pid: me.pid, startTime: me.startTime! + 1 }), false, 'same pid, another start: another process');
  assert.equal(ownerAlive({ pid: 2 ** 22 + 1 }), false);
});

test('an extraction snapshot is stale unless its lease, named in its key, is live', () => {
  const lease = '0b8f5d0e-4c1a-4d4e-9a57-3f2a1b0c9d8e';
  const key = extractionKey(lease, 'sha256:' + 'a'.repeat(64));
  assert.match(key, new RegExp(`^extract-${lease}-[0-9a-f]{8}-sha256:a{64}$`));
  const live = (ids: string[], snapshots: string[] = []) => ({ ids: new Set(ids), blobs: new Set<string>(), snapshots: new Set(snapshots) });
  assert.equal(isStaleExtraction(key, live([lease])), false);
  assert.equal(isStaleExtraction(key, live([])), true);
  // An older key held by name in a live lease's resources.
  assert.equal(isStaleExtraction('extract-old-style', live([], ['extract-old-style'])), false);
  assert.equal(isStaleExtraction('extract-old-style', live([])), true);
  assert.equal(isStaleExtraction('container-x', live([])), false, 'not an extraction');
});
