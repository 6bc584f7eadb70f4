import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LOG_LIMITS, parseDockerSize, parseLogOpts } from '../../../src/runtime/log-options.ts';
import { BerthError } from '../../../src/oci/errors.ts';

test("sizes read as docker's json-file reads max-size (go-units FromHumanSize: multiples of 1000)", () => {
  const cases: Array<[string, number | undefined]> = [
    ['10m', 10_000_000], ['1g', 1_000_000_000], ['500k', 500_000], ['1.5m', 1_500_000], ['10MB', 10_000_000],
    ['10 mb', 10_000_000], ['2KiB', 2000], ['4096', 4096], ['100b', 100], ['.5k', 500],
    ['', undefined], ['m', undefined], ['-1m', undefined], ['10x', undefined], ['10mbb', undefined], ['1e3', undefined],
  ];
  for (const [text, bytes] of cases) assert.equal(parseDockerSize(text), bytes, text);
});

test('--log-opt: max-size and max-file, repeated or joined by commas, over 10 MiB x 3', () => {
  assert.deepEqual(parseLogOpts([]), DEFAULT_LOG_LIMITS);
  assert.deepEqual(DEFAULT_LOG_LIMITS, { maxSize: 10 * 1024 * 1024, maxFiles: 3 });
  assert.deepEqual(parseLogOpts(['max-size=1m,max-file=5']), { maxSize: 1_000_000, maxFiles: 5 });
  assert.deepEqual(parseLogOpts(['max-size=2k', 'max-file=1']), { maxSize: 2000, maxFiles: 1 });
  const bad: Array<[string, RegExp]> = [
    ['max-size=huge', /--log-opt max-size: "huge" is not a size/],
    ['max-size=10', /too small: at least 1k/],
    ['max-file=0', /--log-opt max-file: "0" is not a number of files/],
    ['max-file=two', /not a number of files/],
    ['compress=true', /--log-opt compress: unknown log option/],
  ];
  for (const [opt, message] of bad) {
    assert.throws(() => parseLogOpts([opt]), (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument' && message.test(e.message), opt);
  }
});
