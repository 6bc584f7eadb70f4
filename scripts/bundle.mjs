// Builds the CLIs into dist/ so that a command starts fast:
//  - berth-runtime: one CommonJS file, then a V8 start-up snapshot of it (node --build-snapshot):
//    a run deserialises berth's code already loaded instead of parsing and linking modules.
//  - berth and berthd: ESM bundles sharing lazily loaded chunks (their native addons can't be
//    snapshotted). berthd reads the CRI definition from dist/proto/api.proto at start.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');

const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', sourcemap: false };
// The seccomp compiler's identity: compiled filters cached by one build are never used by
// another (src/runtime/seccomp-cache.ts).
const seccompSources = createHash('sha256');
for (const f of readdirSync('src/runtime/seccomp').sort()) seccompSources.update(`${f}\0`).update(readFileSync(`src/runtime/seccomp/${f}`));
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
const cjs = { format: 'cjs', define: { 'import.meta.url': 'undefined', __BERTH_SECCOMP_COMPILER__: JSON.stringify(seccompSources.digest('hex')) }, plugins: [userRequire] };

await build({
  ...common,
  // The unpack worker is its own entry: src/image/unpack-pool.ts starts dist/unpack-worker.mjs.
  entryPoints: { berth: 'src/cli/berth.ts', berthd: 'src/cli/berthd.ts', 'unpack-worker': 'src/image/unpack-worker.ts' },
  outdir: 'dist',
  splitting: true,
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  external: ['better-sqlite3', 'zstd-napi', 'koffi'],
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
});

// src/cri/proto-load.ts looks for proto/api.proto next to the module that holds it: dist/.
mkdirSync('dist/proto');
copyFileSync('src/cri/proto/api.proto', 'dist/proto/api.proto');

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
    '  // exit at once: a natural exit frees the heap and the environment first (a few ms)',
    '  void main(process.argv.slice(1)).then((code) => process.exit(code));',
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
  // --no-rehash-snapshot (here and in native/front.c, which starts it): the hash tables keep
  // this build's random seed instead of being rehashed at every start (~5 ms).
  execFileSync(process.execPath, ['--no-warnings', '--no-rehash-snapshot', '--snapshot-blob', 'dist/berth-runtime.blob', '--build-snapshot', 'dist/berth-runtime-snapshot.cjs'], { stdio: 'inherit' });
} catch {
  // bin/berth-runtime falls back to the plain bundle
  console.warn('warning: could not build the start-up snapshot; berth-runtime will start without it');
}
