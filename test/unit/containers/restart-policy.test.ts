import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/oci/errors.ts';
import { decideRestart, nextDelay, parseRestartPolicy, type ExitFacts } from '../../../src/containers/restart-policy.ts';

test("--restart values as docker reads them", () => {
  assert.deepEqual(parseRestartPolicy(undefined), { name: 'no', maximumRetryCount: 0 });
  assert.deepEqual(parseRestartPolicy('no'), { name: 'no', maximumRetryCount: 0 });
  assert.deepEqual(parseRestartPolicy('always'), { name: 'always', maximumRetryCount: 0 });
  assert.deepEqual(parseRestartPolicy('unless-stopped'), { name: 'unless-stopped', maximumRetryCount: 0 });
  assert.deepEqual(parseRestartPolicy('on-failure'), { name: 'on-failure', maximumRetryCount: 0 });
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { name: 'on-failure', maximumRetryCount: 3 });
  for (const bad of ['sometimes', 'always:2', 'on-failure:x', 'on-failure:1:2', 'on-failure:-1']) {
    assert.throws(() => parseRestartPolicy(bad), (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument' && e.message.startsWith(`--restart "${bad}"`), bad);
  }
});

const exit = (f: Partial<ExitFacts> = {}): ExitFacts => ({ status: 1, ranMs: 50, restartCount: 0, lastDelayMs: 0, stoppedByUser: false, ...f });

test('which exits restart under which policy', () => {
  const no = parseRestartPolicy('no');
  const always = parseRestartPolicy('always');
  const onFailure = parseRestartPolicy('on-failure');
  const twice = parseRestartPolicy('on-failure:2');
  assert.equal(decideRestart(no, exit()).restart, false);
  assert.equal(decideRestart(always, exit({ status: 0 })).restart, true, 'always restarts after exit 0');
  assert.equal(decideRestart(parseRestartPolicy('unless-stopped'), exit({ status: 0 })).restart, true);
  assert.equal(decideRestart(onFailure, exit({ status: 0 })).restart, false, 'on-failure: not after a success');
  assert.equal(decideRestart(onFailure, exit({ restartCount: 1000 })).restart, true, 'on-failure without N has no limit');
  assert.equal(decideRestart(twice, exit({ restartCount: 1 })).restart, true);
  assert.equal(decideRestart(twice, exit({ restartCount: 2 })).restart, false, 'on-failure:2 stops after 2 restarts');
  for (const p of [always, onFailure, parseRestartPolicy('unless-stopped')]) assert.equal(decideRestart(p, exit({ stoppedByUser: true })).restart, false, `${p.name}: a stop wins`);
});

test('delays double from 100 ms up to a minute, and start again after 10 s of running', () => {
  const delays: number[] = [];
  let last = 0;
  for (let i = 0; i < 12; i++) delays.push((last = nextDelay(last, 5)));
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
  assert.equal(nextDelay(51200, 9_999), 60000);
  assert.equal(nextDelay(51200, 10_000), 100);
  assert.deepEqual(decideRestart(parseRestartPolicy('always'), exit({ lastDelayMs: 400 })), { restart: true, delayMs: 800 });
});
