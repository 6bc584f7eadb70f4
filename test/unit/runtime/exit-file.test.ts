import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readExitFile } from '../../../src/runtime/monitor.ts';

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
