import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinLogLines, parseCriLog } from '../../../src/runtime/cri-log.ts';

const text = [
  '2026-11-28T03:12:39.577161296Z stdout F out',
  '2026-11-28T03:12:39.578678468Z stdout P partial',
  '2026-11-28T03:12:39.578680872Z stderr F err with  two spaces',
  'not a record',
  '2026-11-28T03:12:39.778728826Z stdout F  end',
  '2026-11-28T03:12:39.9Z stderr P no newline at the end',
  '',
].join('\n');

test('CRI log records parse; partial pieces join per stream', () => {
  const records = parseCriLog(text);
  assert.equal(records.length, 5);
  assert.deepEqual(records[1], { time: '2026-11-28T03:12:39.578678468Z', stream: 'stdout', partial: true, text: 'partial' });
  assert.equal(records[2]!.text, 'err with  two spaces');
  assert.deepEqual(
    joinLogLines(records).map((l) => [l.stream, l.text, l.time]),
    [
      ['stdout', 'out', '2026-11-28T03:12:39.577161296Z'],
      ['stderr', 'err with  two spaces', '2026-11-28T03:12:39.578680872Z'],
      ['stdout', 'partial end', '2026-11-28T03:12:39.578678468Z'],
      ['stderr', 'no newline at the end', '2026-11-28T03:12:39.9Z'],
    ],
  );
  assert.equal(joinLogLines(records, false).length, 3, 'an unfinished line waits without flush');
});
