import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readExitFile, supervision } from '../../../src/runtime/monitor.ts';
import { readProcStat } from '../../../src/sys/proc.ts';

test('an exit file is read only when whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-exit-'));
  try {
    const f = join(dir, 'exit-code');
    assert.equal(readExitFile(f), undefined, 'absent');
    for (const [text, code] of [['0', 0], ['137', 137], ['3\n', 3], ['', undefined], ['x', undefined], ['-1', undefined]] as const) {
      writeFileSync(f, text);
      assert.equal(readExitFile(f), code, JSON.stringify(text));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('supervision: a live monitor supervises; its exit file says the container ended; a dead one (or a reused pid) is lost', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sup-'));
  try {
    const f = join(dir, 'exit-code');
    const self = { pid: process.pid, startTime: readProcStat(process.pid)!.startTime, bound: true };
    const gone = spawnSync('true').pid!;
    assert.equal(supervision(self, f), 'supervised');
    assert.equal(supervision({ ...self, pid: gone }, f), 'lost');
    assert.equal(supervision({ ...self, startTime: self.startTime + 1 }, f), 'lost', 'the pid now names another process');
    assert.equal(supervision(undefined, f), 'supervised', 'no record: a foreground run');
    writeFileSync(f, '0');
    assert.equal(supervision({ ...self, pid: gone }, f), 'ended', 'it exited after recording the status');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
