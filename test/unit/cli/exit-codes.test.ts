// berth's exit status on failure, as docker's CLI gives it: 125/126/127 for run (and 126/127 for
// exec), 125 for any bad command line, 1 for everything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError, fromSystemError, invalid, notFound, precondition } from '../../../src/oci/errors.ts';
import { cliExitCode, invocationExitCode } from '../../../src/cli/berth/exit-codes.ts';
import { main } from '../../../src/cli/berth/main.ts';
import { Writable } from 'node:stream';

const planError = (op: string, errno: string): BerthError =>
  new BerthError(errno === 'ENOENT' ? 'not-found' : 'permission-denied', `exec /x: ${errno}`, { field: 'process.args[0]', op, errno });

test('a program that cannot be found is 127; found but not runnable is 126; from run and exec alike', () => {
  for (const command of ['run', 'exec']) {
    assert.equal(cliExitCode(planError('resolve-exec', 'ENOENT'), { command, usage: false }), 127);
    assert.equal(cliExitCode(planError('resolve-exec', 'ENOTDIR'), { command, usage: false }), 127);
    assert.equal(cliExitCode(planError('resolve-exec', 'EACCES'), { command, usage: false }), 126);
    assert.equal(cliExitCode(planError('execve', 'ENOEXEC'), { command, usage: false }), 126);
    assert.equal(cliExitCode(planError('execve', 'ENOENT'), { command, usage: false }), 127, 'a script whose interpreter is missing');
  }
  assert.equal(invocationExitCode(planError('mount', 'ENOENT')), undefined, 'a mount is berth failing, not the program');
  assert.equal(invocationExitCode(new Error('resolve-exec')), undefined);
});

test('run: any failure of berth itself is 125, whatever its kind', () => {
  for (const err of [invalid('--memory: "1x" is not a size'), notFound('image "x" not found'), precondition('busy'), fromSystemError(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }), 'mount'), new Error('plain')]) {
    assert.equal(cliExitCode(err, { command: 'run', usage: false }), 125);
  }
});

test('other commands: 1 for a failure, 125 for a bad command line (docker exec too)', () => {
  assert.equal(cliExitCode(notFound('no such container: "x"'), { command: 'exec', usage: false }), 1);
  assert.equal(cliExitCode(notFound('no such container: "x"'), { command: 'rm', usage: false }), 1);
  assert.equal(cliExitCode(planError('resolve-exec', 'ENOENT'), { command: 'start', usage: false }), 1, '126/127 are for run and exec only');
  assert.equal(cliExitCode(invalid('unknown flag --bogus'), { command: 'ps', usage: true }), 125);
  assert.equal(cliExitCode(invalid('unknown flag --bogus'), { usage: true }), 125);
});

type Sink = NodeJS.WriteStream & { text: string };

function sink(): Sink {
  const s = new Writable({ write: (chunk, _enc, done) => ((s.text += String(chunk)), done()) }) as unknown as Sink;
  s.text = '';
  return s;
}

test('main: usage errors before any command runs are 125; an unknown command is 1', async () => {
  const io = () => ({ stdout: sink(), stderr: sink() });
  assert.equal(await main(['run', '--bogus', 'img'], io()), 125);
  assert.equal(await main(['ps', '--bogus'], io()), 125);
  assert.equal(await main(['--bogus', 'ps'], io()), 125);
  assert.equal(await main(['rm'], io()), 125, 'a missing argument');
  assert.equal(await main(['tag', 'a', 'b', 'c'], io()), 125, 'an extra argument');
  const err = sink();
  assert.equal(await main(['frobnicate'], { stdout: sink(), stderr: err }), 1);
  assert.match(err.text, /^berth: unknown command "frobnicate"/);
});
