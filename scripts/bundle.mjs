// Builds the CLIs into dist/ so that a command starts fast:
//  - berth-runtime: one CommonJS file, then a V8 start-up snapshot of it (node --build-snapshot):
//    a run deserialises berth's code already loaded instead of parsing and linking modules.
//  - berth: an ESM bundle with lazily loaded chunks (its native addons can't be snapshotted).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');

const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', sourcemap: false };
// CommonJS output has no module URL: berth-spawn is then found through BERTH_SPAWN (bin/berth-runtime).
// koffi (bpf(2) for cgroup v2 device programs) stays outside: a native addon, loaded on first use.
// A snapshot's own require() loads only built-in modules, so koffi is found from the bundle's path.
const userRequire = {
  name: 'user-require',
  setup(b) {
    b.onResolve({ filter: /^koffi$/ }, () => ({ path: 'koffi', namespace: 'user-require' }));
    b.onLoad({ filter: /.*/, namespace: 'user-require' }, (a) => ({
      contents: `module.exports = require('node:module').createRequire(__filename)(${JSON.stringify(a.path)});`,
      loader: 'js',
    }));
  },
};
const cjs = { format: 'cjs', define: { 'import.meta.url': 'undefined' }, plugins: [userRequire] };

await build({
  ...common,
  // The unpack worker is its own entry: src/image/unpack-pool.ts starts dist/unpack-worker.mjs.
  entryPoints: { berth: 'src/cli/berth.ts', 'unpack-worker': 'src/image/unpack-worker.ts' },
  outdir: 'dist',
  splitting: true,
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  external: ['better-sqlite3', 'zstd-napi', 'koffi'],
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
});

// berth-runtime: the entry for the snapshot registers main() to run when the snapshot starts.
writeFileSync(
  'dist/berth-runtime-snapshot-entry.ts',
  [
    "import v8 from 'node:v8';",
    "import { main } from '../src/cli/berth-runtime/main.ts';",
    "import { warmUp } from '../src/cli/berth-runtime/warm-up.ts';",
    "import { installFatalHandlers } from '../src/cli/fatal.ts';",
    'warmUp();',
    'v8.startupSnapshot.setDeserializeMainFunction(() => {',
    "  installFatalHandlers('berth-runtime');",
    "  // a snapshot's argv has no script path: [node, ...args]",
    '  void main(process.argv.slice(1)).then((code) => { process.exitCode = code; });',
    '});',
    '',
  ].join('\n'),
);
await build({ ...common, entryPoints: ['dist/berth-runtime-snapshot-entry.ts'], outfile: 'dist/berth-runtime-snapshot.cjs', ...cjs });
await build({ ...common, entryPoints: ['src/cli/berth-runtime.cjs.ts'], outfile: 'dist/berth-runtime.cjs', ...cjs });
await build({ ...common, entryPoints: ['src/cli/berth-vm.cjs.ts'], outfile: 'dist/berth-vm.cjs', ...cjs });
rmSync('dist/berth-runtime-snapshot-entry.ts');
try {
  // Node warns that child_process is "not yet fully verified" in snapshots: berth only calls
  // spawn() after deserialisation, and the integration tests run through the snapshot.
  execFileSync(process.execPath, ['--no-warnings', '--snapshot-blob', 'dist/berth-runtime.blob', '--build-snapshot', 'dist/berth-runtime-snapshot.cjs'], { stdio: 'inherit' });
} catch {
  // bin/berth-runtime falls back to the plain bundle
  console.warn('warning: could not build the start-up snapshot; berth-runtime will start without it');
}
