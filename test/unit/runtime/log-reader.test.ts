// The streaming log reader over rotated files, against a plain model of the CRI format: random logs
// (interleaved streams, lines in many pieces, pieces split across files), every --tail, time ranges,
// and a follower that must see every line exactly once while the files rotate under it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { formatLogTime, formatRecord, type LogLine, type LogRecord, type LogStream } from '../../../src/runtime/cri-log.ts';
import { readLog, type LogReadOptions } from '../../../src/runtime/log-reader.ts';

const work = mkdtempSync(join(tmpdir(), 'berth-logreader-'));
after(() => rmSync(work, { recursive: true, force: true }));
let dirs = 0;

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = 1_780_000_000_000_000_000n;
const timeOf = (i: number): string => formatLogTime(T0 + BigInt(i) * 1000n);

function randomRecords(seed: number, n: number, maxText: number): LogRecord[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    time: timeOf(i),
    stream: (r() < 0.6 ? 'stdout' : 'stderr') as LogStream,
    partial: r() < 0.35,
    text: `${i}:${'x€y'.repeat(Math.floor(r() * maxText))}`,
  }));
}

/** The log split into path.2, path.1 and path at random record boundaries, with a stray non-record line. */
function writeRotated(records: LogRecord[], seed: number): string {
  const r = rng(seed);
  const dir = join(work, `log-${dirs++}`);
  mkdirSync(dir);
  const path = join(dir, 'container.log');
  const cuts = [Math.floor(r() * records.length), Math.floor(r() * records.length)].sort((a, b) => a - b);
  const parts = [records.slice(0, cuts[0]), records.slice(cuts[0], cuts[1]), records.slice(cuts[1])];
  parts.forEach((part, k) => writeFileSync(k === 2 ? path : `${path}.${2 - k}`, part.map(formatRecord).join('') + (k === 1 ? 'garbage line\n' : '')));
  return path;
}

/** What a reader must print: lines in the order they complete, flushed last; --tail by where each ends. */
function model(records: LogRecord[], tail?: number): Array<[LogStream, string, string]> {
  const open = new Map<LogStream, { time: string; text: string; end: number }>();
  const done: Array<{ stream: LogStream; time: string; text: string; end: number }> = [];
  records.forEach((rec, i) => {
    const o = open.get(rec.stream) ?? { time: rec.time, text: '', end: i };
    o.text += rec.text;
    o.end = i;
    if (rec.partial) open.set(rec.stream, o);
    else {
      open.delete(rec.stream);
      done.push({ stream: rec.stream, ...o });
    }
  });
  const all = [...done, ...[...open.entries()].map(([stream, o]) => ({ stream, ...o }))];
  const kept = tail === undefined ? new Set(all) : new Set([...all].sort((a, b) => a.end - b.end).slice(all.length - Math.min(tail, all.length)));
  return all.filter((l) => kept.has(l)).map((l) => [l.stream, l.time, l.text]);
}

async function read(path: string, opts: LogReadOptions): Promise<Array<[LogStream, string, string]>> {
  const out: Array<[LogStream, string, string]> = [];
  for await (const batch of readLog(path, { rotated: 2, ...opts })) for (const l of batch) out.push([l.stream, l.time, l.text]);
  return out;
}

test('forward through the rotated files in order, and every --tail, match the model', async () => {
  for (const [seed, n, maxText] of [[1, 40, 4], [2, 200, 6], [3, 7, 3], [4, 3000, 120]] as const) {
    const records = randomRecords(seed, n, maxText);
    const path = writeRotated(records, seed * 7);
    assert.deepEqual(await read(path, {}), model(records), `seed ${seed}: all of it`);
    for (const tail of [0, 1, 2, 3, 5, 17, 100, 5000]) {
      assert.deepEqual(await read(path, { tail }), model(records, tail), `seed ${seed}: --tail ${tail}`);
    }
  }
});

test('--since and --until keep the lines that began in the range, from the first file that may hold them', async () => {
  const records = randomRecords(5, 300, 5);
  const path = writeRotated(records, 11);
  const ns = (i: number): bigint => T0 + BigInt(i) * 1000n;
  for (const [since, until] of [[0, 299], [120, undefined], [undefined, 80], [150, 160], [290, 299], [400, undefined], [undefined, -5]] as const) {
    const expected = model(records).filter(([, time]) => (since === undefined || time >= timeOf(since)) && (until === undefined || time <= timeOf(until)));
    const got = await read(path, { since: since === undefined ? undefined : ns(since), until: until === undefined ? undefined : ns(until) });
    assert.deepEqual(got, expected, `since ${since} until ${until}`);
  }
  assert.deepEqual(await read(path, { tail: 4, since: ns(299) }), model(records, 4).filter(([, time]) => time >= timeOf(299)), '--tail with --since');
});

test('following: every line once, in order, while the files rotate under the reader (twice between two looks too)', async () => {
  const dir = join(work, 'follow');
  mkdirSync(dir);
  const path = join(dir, 'container.log');
  writeFileSync(path, '');
  let ended = false;
  const got: LogLine[] = [];
  const reader = (async () => {
    // Five files: a reader more than four rotations behind loses lines, whatever it does.
    for await (const batch of readLog(path, { rotated: 4, follow: true, pollMs: 5, ended: () => ended })) got.push(...batch);
  })();
  // The lines written when each rotation happened: a rotation waits until the reader is at most
  // three rotations behind, so a starved reader (a loaded machine) still has every line it needs.
  const rotatedAt: number[] = [];
  const rotate = async (): Promise<void> => {
    const behind = rotatedAt.at(-3) ?? 0;
    const deadline = Date.now() + 5000; // a reader that stopped reading fails the assertion below
    while (got.length < behind && Date.now() < deadline) await delay(1);
    rotatedAt.push(n);
    for (let i = 3; i >= 1; i--) {
      try {
        renameSync(`${path}.${i}`, `${path}.${i + 1}`);
      } catch {
        // not rotated that often yet
      }
    }
    renameSync(path, `${path}.1`);
    writeFileSync(path, '');
  };
  let n = 0;
  const write = (count: number): void => {
    for (let i = 0; i < count; i++, n++) appendFileSync(path, formatRecord({ time: timeOf(n), stream: n % 3 ? 'stdout' : 'stderr', partial: false, text: `line ${n}` }));
  };
  for (let round = 0; round < 12; round++) {
    write(5);
    await delay(round % 3 === 0 ? 0 : 20);
    await rotate();
    if (round % 4 === 1) {
      write(3);
      await rotate(); // a second rotation before the reader looked again
    }
  }
  // A record written in two parts: the reader waits for its newline.
  const last = formatRecord({ time: timeOf(n), stream: 'stdout', partial: false, text: `line ${n++}` });
  appendFileSync(path, last.slice(0, 20));
  await delay(30);
  appendFileSync(path, last.slice(20));
  write(4);
  ended = true;
  await reader;
  assert.deepEqual(got.map((l) => l.text), Array.from({ length: n }, (_, i) => `line ${i}`));
});

test('without --follow, a reader reads what was there and ends, however busy the writer', async () => {
  const dir = join(work, 'busy');
  mkdirSync(dir);
  const path = join(dir, 'container.log');
  writeFileSync(path, Array.from({ length: 1000 }, (_, i) => formatRecord({ time: timeOf(i), stream: 'stdout', partial: false, text: `${i}` })).join(''));
  let writing = true;
  const writer = (async () => {
    for (let i = 1000; writing; i++) {
      appendFileSync(path, formatRecord({ time: timeOf(i), stream: 'stdout', partial: false, text: `${i}` }).repeat(50));
      await delay(0);
    }
  })();
  const got = await read(path, {});
  writing = false;
  await writer;
  assert.ok(got.length >= 1000, `${got.length} lines`);
  assert.deepEqual(got.slice(0, 1000).map(([, , t]) => t), Array.from({ length: 1000 }, (_, i) => `${i}`));
});
