// -e and --env-file as docker reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envFromFlags, parseEnvFile } from '../../../src/cli/berth/env-flags.ts';

test('an env file: KEY=VALUE literally, bare keys, comments and blank lines skipped', () => {
  const text = '\uFEFF# a comment\nA=1\n  B=two words \nQ="quoted"\n\nEMPTY=\nFROM_HOST\r\n   # indented comment\nURL=http://x/?a=b\n';
  assert.deepEqual(parseEnvFile(text, 'f'), ['A=1', 'B=two words ', 'Q="quoted"', 'EMPTY=', 'FROM_HOST', 'URL=http://x/?a=b']);
});

test('an env file: a name with whitespace or none is an error naming the file and line', () => {
  assert.throws(() => parseEnvFile('A=1\nMY VAR\n', 'app.env'), /^BerthError: --env-file app\.env:2: variable "MY VAR" contains whitespace$/);
  assert.throws(() => parseEnvFile('=x\n', 'app.env'), /app\.env:1: variable "" has no name/);
  assert.throws(() => parseEnvFile('B = x\n', 'app.env'), /variable "B " contains whitespace/, 'as docker: no spaces around =');
});

test('files first, then -e over them; a bare key takes the host value, else unsets (-e) or is left out (file)', () => {
  const files: Record<string, string> = { a: 'X=file\nHOSTVAR\nMISSING\n', b: 'Y=b\n' };
  const env = envFromFlags(['a', 'b'], ['X=flag', 'HOSTVAR', 'GONE'], { HOSTVAR: 'from host' }, (p) => files[p]!);
  assert.deepEqual(env, ['X=file', 'HOSTVAR=from host', 'Y=b', 'X=flag', 'HOSTVAR=from host', 'GONE']);
  assert.deepEqual(envFromFlags([], []), []);
});

test('an env file that cannot be read is one error naming it', () => {
  assert.throws(() => envFromFlags(['/no/such/file.env'], []), /--env-file \/no\/such\/file\.env: no such file or directory/);
});
