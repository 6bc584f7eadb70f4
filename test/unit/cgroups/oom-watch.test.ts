import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError, notFound } from '../../../src/oci/errors.ts';
import { watchOom } from '../../../src/runtime/cgroups/oom-watch.ts';

/** A counter that replays `values`, then reports the cgroup gone (or throws `end`). */
function counter(values: bigint[], end: Error = notFound('gone')) {
  let i = 0;
  return {
    async oomKillCount(): Promise<bigint> {
      if (i >= values.length) throw end;
      return values[i++] as bigint;
    },
  };
}

test('each growth of the counter is reported once, with how many kills it was', async () => {
  const seen: Array<[bigint, bigint]> = [];
  const watch = watchOom(counter([0n, 0n, 1n, 1n, 3n]), (count, kills) => seen.push([count, kills]), { intervalMs: 1 });
  await watch.done; // ends when the cgroup disappears
  assert.deepEqual(seen, [[1n, 1n], [3n, 2n]]);
});

test('kills that happened before the watch started are not reported', async () => {
  const seen: bigint[] = [];
  await watchOom(counter([5n, 5n]), (c) => seen.push(c), { intervalMs: 1 }).done;
  assert.deepEqual(seen, []);
});

test('stop() and an abort signal end the watch', async () => {
  const forever = { oomKillCount: async () => 0n };
  const watch = watchOom(forever, () => assert.fail('no oom'), { intervalMs: 5 });
  watch.stop();
  await watch.done;
  const ac = new AbortController();
  const other = watchOom(forever, () => assert.fail('no oom'), { intervalMs: 5, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await other.done;
});

test('read errors other than "cgroup gone" reject the watch', async () => {
  const boom = new BerthError('permission-denied', 'denied');
  await assert.rejects(watchOom(counter([0n], boom), () => {}, { intervalMs: 1 }).done, boom);
});
