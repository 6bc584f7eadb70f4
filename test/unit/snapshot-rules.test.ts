// berth-runtime starts from a V8 start-up snapshot (scripts/bundle.mjs), which has no dynamic
// import callback: `await import('node:...')` of a built-in would fail at run time there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

test('no dynamic import of node built-ins in the code berth-runtime bundles', () => {
  const offenders: string[] = [];
  for (const f of files(srcRoot)) {
    const text = readFileSync(f, 'utf8');
    if (/import\(\s*['"]node:/.test(text)) offenders.push(f);
  }
  assert.deepEqual(offenders, []);
});
