import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogLineJoiner, formatLogTime, joinLogLines, parseCriLog, parseLogTime, parseRecord } from '../../../src/runtime/cri-log.ts';

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

test("records other writers wrote: the kubelet's examples, containerd's trimmed nanoseconds, conmon's local offset, later tags", () => {
  // kubelet (pkg/kubelet/kuberuntime/logs) documents these two; containerd writes RFC3339Nano, which
  // drops trailing zeros; conmon writes local time with an offset; tags after ':' are for later use.
  const lines = [
    '2016-10-06T00:17:09.669794202Z stdout P log content 1',
    '2016-10-06T00:17:09.669794203Z stderr F log content 2',
    '2016-10-06T00:17:09.6697942Z stdout F:x  and more',
    '2023-10-18T15:36:58.478133876+02:00 stderr F from conmon',
    '2023-10-18T13:36:58Z stdout F',
    '2023-10-18T13:36:58Z stdin F not a stream',
    '2023-10-18T13:36:58Z stdout X not a tag',
  ];
  const records = lines.map((l) => parseRecord(Buffer.from(l)));
  assert.deepEqual(records.map((r) => r && [r.stream, r.partial, r.text.toString()]), [
    ['stdout', true, 'log content 1'],
    ['stderr', false, 'log content 2'],
    ['stdout', false, ' and more'],
    ['stderr', false, 'from conmon'],
    ['stdout', false, ''],
    undefined,
    undefined,
  ]);
  assert.equal(parseLogTime('2023-10-18T15:36:58.478133876+02:00'), parseLogTime('2023-10-18T13:36:58.478133876Z'));
  assert.equal(parseLogTime('2016-10-06T00:17:09.6697942Z'), 1475713029669794200n);
  assert.equal(formatLogTime(parseLogTime('2016-10-06T00:17:09.6697942Z')!), '2016-10-06T00:17:09.669794200Z');
  assert.equal(formatLogTime(parseLogTime('2023-10-18T15:36:58-02:30')!), '2023-10-18T18:06:58.000000000Z');
  assert.equal(parseLogTime('yesterday'), undefined);
});

test('a character cut across two records comes back whole; a line too long to keep comes out in pieces', () => {
  const euro = Buffer.from('€'); // three bytes
  const j = new LogLineJoiner();
  const rec = (partial: boolean, text: Buffer) => ({ time: 't', stream: 'stdout' as const, partial, text });
  assert.equal(j.add(rec(true, Buffer.concat([Buffer.from('price '), euro.subarray(0, 1)]))), undefined);
  assert.equal(j.add(rec(false, Buffer.concat([euro.subarray(1), Buffer.from('5')])))!.text, 'price €5');

  const small = new LogLineJoiner(10);
  const pieces: string[] = [];
  const long = '€'.repeat(12); // 36 bytes, in records of 7 bytes: cuts inside characters
  const bytes = Buffer.from(long);
  for (let i = 0; i < bytes.length; i += 7) {
    const l = small.add(rec(i + 7 < bytes.length, bytes.subarray(i, i + 7)));
    if (l) pieces.push(`${l.text}${l.partial ? '|' : '$'}`);
  }
  assert.ok(pieces.length > 1, 'more than one piece');
  assert.ok(pieces.slice(0, -1).every((p) => p.endsWith('|')) && pieces.at(-1)!.endsWith('$'), pieces.join(' '));
  assert.equal(pieces.map((p) => p.slice(0, -1)).join(''), long, 'nothing lost or broken at the cuts');
});
