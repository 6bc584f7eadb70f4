// Enforces the layer direction of DESIGN.md: oci <- sys <- runtime / image / network <- containers <- cri <- cli.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

const rank: Record<string, number> = { oci: 0, sys: 1, runtime: 2, image: 2, network: 2, containers: 3, cri: 4, cli: 5 };

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* tsFiles(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

function layerOf(file: string): string {
  return relative(srcRoot, file).split('/')[0] ?? '';
}

export function importViolations(file: string, source: string): string[] {
  const from = layerOf(file);
  const out: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? '';
    if (!spec.startsWith('.')) continue;
    // The package manifest is no layer: its version is read where a program reports it.
    if (resolve(dirname(file), spec) === resolve(srcRoot, '..', 'package.json')) continue;
    const to = layerOf(resolve(dirname(file), spec));
    if (to === from) continue;
    const a = rank[from], b = rank[to];
    if (a === undefined || b === undefined || b >= a) {
      out.push(`${relative(srcRoot, file)} (${from}) imports ${spec} (${to})`);
    }
  }
  return out;
}

test('every src/ folder is a known layer', () => {
  for (const name of readdirSync(srcRoot)) assert.ok(name in rank, `unknown layer folder src/${name}`);
});

test('no layer imports a higher or sibling layer', () => {
  const violations: string[] = [];
  for (const file of tsFiles(srcRoot)) violations.push(...importViolations(file, readFileSync(file, 'utf8')));
  assert.deepEqual(violations, []);
});

test('the check itself catches an upward import', () => {
  const fake = join(srcRoot, 'oci', 'x.ts');
  assert.equal(importViolations(fake, "import { a } from '../runtime/y.ts';").length, 1);
  assert.equal(importViolations(join(srcRoot, 'image', 'x.ts'), "import { a } from '../runtime/y.ts';").length, 1);
  assert.equal(importViolations(join(srcRoot, 'cli', 'x.ts'), "import { a } from '../oci/y.ts';").length, 0);
});

test('cri sits above containers, runtime, image and network, and below cli', () => {
  const cri = join(srcRoot, 'cri', 'x.ts');
  for (const lower of ['containers', 'runtime', 'image', 'network', 'sys', 'oci']) {
    assert.deepEqual(importViolations(cri, `import { a } from '../${lower}/y.ts';`), [], `cri may use ${lower}`);
    assert.equal(importViolations(join(srcRoot, lower, 'x.ts'), "import { a } from '../cri/y.ts';").length, 1, `${lower} may not use cri`);
  }
  assert.equal(importViolations(cri, "import { a } from '../cli/y.ts';").length, 1);
  assert.deepEqual(importViolations(join(srcRoot, 'cli', 'x.ts'), "import { a } from '../cri/y.ts';"), []);
});
