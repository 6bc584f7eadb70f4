// `berth run --runtime runc`: an image container run by Debian's runc instead of berth's runtime,
// in the foreground and in the background under berth's monitor (logs, exec, stop, rm), with
// runc's state kept under <root>/runtimes/runc.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { repoRoot, runCli, type RunResult } from '../../support/cli.ts';

let work: string;
let root: string;
const berthBin = join(repoRoot, 'bin/berth');
const berth = (...args: string[]): RunResult => runCli(berthBin, ['--root', root, ...args]);
const ok = (...args: string[]): string => {
  const r = berth(...args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const IMAGE = 'localhost/runc-test:1';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-test-runc-'));
  root = join(work, 'store');
  writeOciLayout(buildImage({ cmd: ['sh', '-c', 'echo "$GREETING"'], env: ['PATH=/bin', 'GREETING=hello'], workdir: '/data' }), join(work, 'layout'), '1');
  ok('load', '-i', join(work, 'layout'));
  ok('tag', JSON.parse(ok('images', '--format', 'json'))[0].name, IMAGE);
});

after(() => {
  const containers = join(root, 'containers');
  for (const id of existsSync(containers) ? readdirSync(containers) : []) runCli(berthBin, ['--root', root, 'rm', '--force', id]);
  for (const id of existsSync(join(root, 'runtimes', 'runc')) ? readdirSync(join(root, 'runtimes', 'runc')) : []) {
    try {
      execFileSync('runc', ['--root', join(root, 'runtimes', 'runc'), 'delete', '--force', id]);
    } catch {
      // already gone
    }
  }
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(work)) execFileSync('umount', ['-l', mp]);
  }
  rmSync(work, { recursive: true, force: true });
});

test('foreground: runc runs the image config, the exit status comes back', () => {
  assert.equal(ok('run', '--rm', '--runtime', 'runc', IMAGE), 'hello\n');
  const r = berth('run', '--rm', '--runtime', 'runc', IMAGE, 'sh', '-c', 'pwd; exit 6');
  assert.equal(r.code, 6, r.stderr);
  assert.equal(r.stdout, '/data\n');
  assert.deepEqual(readdirSync(join(root, 'runtimes', 'runc')), [], 'runc kept no state');
});

test('background under the monitor: ps, logs, exec, stop, rm', async () => {
  ok('run', '-d', '--runtime', 'runc', '--name', 'rc', IMAGE, 'sh', '-c', 'echo up; trap "echo bye; exit 3" TERM; while true; do sleep 0.1; done');
  const state = JSON.parse(execFileSync('runc', ['--root', join(root, 'runtimes', 'runc'), 'state', JSON.parse(ok('ps', '--format', 'json'))[0].id], { encoding: 'utf8' }));
  assert.equal(state.status, 'running', 'runc itself reports the container running');
  assert.match(ok('ps'), /\bUp\s+rc$/m);
  let logs = '';
  for (let i = 0; i < 50 && logs !== 'up\n'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    logs = ok('logs', 'rc');
  }
  assert.equal(logs, 'up\n');
  const ex = berth('exec', '-e', 'X=1', 'rc', 'sh', '-c', 'echo "$GREETING $X $(pwd)"; exit 4');
  assert.equal(ex.code, 4, ex.stderr);
  assert.equal(ex.stdout, 'hello 1 /data\n');
  ok('stop', 'rc');
  assert.match(ok('ps', '-a'), /Exited \(3\)\s+rc$/m);
  assert.equal(ok('logs', 'rc'), 'up\nbye\n');
  ok('rm', 'rc');
  assert.deepEqual(readdirSync(join(root, 'containers')), []);
  assert.deepEqual(readdirSync(join(root, 'runtimes', 'runc')), []);
});

test('an unknown runtime is a one-line error before anything is made', () => {
  const r = berth('run', '--runtime', 'no-such-runtime', IMAGE);
  assert.equal(r.code, 125);
  assert.equal(r.stderr, 'berth: runtime "no-such-runtime" is not installed (not found in $PATH) (--runtime)\n');
  assert.deepEqual(existsSync(join(root, 'containers')) ? readdirSync(join(root, 'containers')) : [], []);
});
