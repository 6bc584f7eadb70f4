// An error that escapes a CLI's main() (a bug) still ends as one line and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fatal = fileURLToPath(new URL('../../../src/cli/fatal.ts', import.meta.url));

function run(code: string, env: NodeJS.ProcessEnv = {}) {
  const script = `import { installFatalHandlers } from ${JSON.stringify(fatal)}; import { BerthError } from ${JSON.stringify(fatal.replace(/cli\/fatal\.ts$/, 'oci/errors.ts'))}; installFatalHandlers('prog'); ${code}`;
  const env2 = { ...process.env, ...env };
  if (!('BERTH_DEBUG' in env)) delete env2.BERTH_DEBUG;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: env2 });
}

test('an unhandled rejection is one line with the error kind\'s exit code', () => {
  const r = run("void BerthError; Promise.reject(new BerthError('not-found', 'no such thing', { path: '/x' })); setTimeout(() => {}, 1000);");
  assert.equal(r.stderr, 'prog: internal error: no such thing (/x)\n');
  assert.equal(r.status, 3);
});

test('an uncaught exception in a callback is one line; BERTH_DEBUG=1 adds the stack', () => {
  const quiet = run("void BerthError; setTimeout(() => { throw new Error('boom\\nsecond line'); }, 1);");
  assert.equal(quiet.stderr, 'prog: internal error: boom second line\n');
  assert.equal(quiet.status, 1);
  const loud = run("void BerthError; setTimeout(() => { throw new Error('boom'); }, 1);", { BERTH_DEBUG: '1' });
  assert.match(loud.stderr, /^prog: internal error: boom\nError: boom\n\s+at /);
});
