import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration, parseLogBound } from '../../../src/runtime/log-time.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const now = Date.UTC(2026, 10, 28, 3, 12, 39, 578); // 2026-11-28T03:12:39.578Z
const s = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n;

test("--since/--until: Go durations back from now, in whole seconds as docker's client sends them", () => {
  assert.equal(parseGoDuration('1h30m'), 5400e9);
  assert.equal(parseGoDuration('1.5h'), 5400e9);
  assert.equal(parseGoDuration('300ms'), 300e6);
  assert.equal(parseGoDuration('2h45m10.5s'), (2 * 3600 + 45 * 60 + 10.5) * 1e9);
  assert.equal(parseGoDuration('42'), undefined, 'a unit is required');
  assert.equal(parseLogBound('42m', now, '--since'), s('2026-11-28T02:30:39Z'));
  assert.equal(parseLogBound('1m30s', now, '--since'), s('2026-11-28T03:11:09Z'));
  assert.equal(parseLogBound('-10s', now, '--until'), s('2026-11-28T03:12:49Z'), 'negative: in the future');
});

test('--since/--until: RFC 3339 (any precision, Z or an offset), zone-less in local time, Unix seconds[.nanos]', () => {
  assert.equal(parseLogBound('2013-01-02T13:23:37Z', now, '--since'), s('2013-01-02T13:23:37Z'));
  assert.equal(parseLogBound('2013-01-02T13:23:37.123456789Z', now, '--since'), s('2013-01-02T13:23:37Z') + 123456789n);
  assert.equal(parseLogBound('2013-01-02T13:23:37+01:00', now, '--since'), s('2013-01-02T12:23:37Z'));
  assert.equal(parseLogBound('2013-01-02Z', now, '--since'), s('2013-01-02T00:00:00Z'));
  const local = (...a: [number, number, number, number?, number?, number?]): bigint => BigInt(new Date(a[0], a[1] - 1, a[2], a[3] ?? 0, a[4] ?? 0, a[5] ?? 0).getTime()) * 1_000_000n;
  assert.equal(parseLogBound('2013-01-02', now, '--since'), local(2013, 1, 2));
  assert.equal(parseLogBound('2013-01-02T13', now, '--since'), local(2013, 1, 2, 13));
  assert.equal(parseLogBound('2013-01-02T13:23', now, '--since'), local(2013, 1, 2, 13, 23));
  assert.equal(parseLogBound('2013-01-02T13:23:37.5', now, '--since'), local(2013, 1, 2, 13, 23, 37) + 500_000_000n);
  assert.equal(parseLogBound('1136073600', now, '--since'), 1136073600n * 1_000_000_000n);
  assert.equal(parseLogBound('1136073600.5', now, '--since'), 1136073600n * 1_000_000_000n + 500_000_000n, 'a fraction of a second, as docker scales it');
  assert.equal(parseLogBound('0', now, '--since'), 0n, '"0" is the epoch, not a duration');
  assert.throws(() => parseLogBound('yesterday', now, '--since'), (e: unknown) => e instanceof BerthError && /--since: "yesterday" is neither a time/.test(e.message));
});
