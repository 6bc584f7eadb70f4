// Bundles each CLI entry point into dist/ (one ESM file plus lazily loaded chunks), so that a
// command starts by reading a few files instead of resolving hundreds of modules.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });

const entries = ['src/cli/berth-runtime.ts'];
for (const extra of ['src/cli/berth.ts', 'src/cli/berthd.ts']) {
  try {
    (await import('node:fs')).accessSync(extra);
    entries.push(extra);
  } catch {
    // not present in this tree
  }
}

await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  // Native addons stay outside the bundle.
  external: ['better-sqlite3', 'zstd-napi', 'koffi'],
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  sourcemap: false,
});
