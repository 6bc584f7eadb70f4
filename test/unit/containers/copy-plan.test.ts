import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/oci/errors.ts';
import { planCopy, sourceName } from '../../../src/containers/copy.ts';
import { parseCopyArg } from '../../../src/cli/berth/copy-command.ts';

test("docker cp's naming: an existing directory takes SRC inside, anything else is SRC's new name", () => {
  const file = { isDir: false, contentsOnly: false };
  const dir = { isDir: true, contentsOnly: false };
  const contents = { isDir: true, contentsOnly: true };
  assert.deepEqual(planCopy(file, '/tmp', { isDir: true }), { dir: '/tmp' });
  assert.deepEqual(planCopy(file, '/tmp/new', undefined), { dir: '/tmp', rename: 'new' });
  assert.deepEqual(planCopy(file, '/tmp/old', { isDir: false }), { dir: '/tmp', rename: 'old' });
  assert.deepEqual(planCopy(dir, '/tmp/new/', undefined), { dir: '/tmp', rename: 'new' });
  assert.deepEqual(planCopy(contents, '/tmp', { isDir: true }), { dir: '/tmp', rename: '' });
  assert.deepEqual(planCopy(contents, '/tmp/new', undefined), { dir: '/tmp', rename: 'new' });
  assert.throws(() => planCopy(dir, '/etc/passwd', { isDir: false }), (e: unknown) => e instanceof BerthError && /cannot copy a directory to a file/.test(e.message));
  assert.throws(() => planCopy(file, '/nope/', undefined), (e: unknown) => e instanceof BerthError && e.kind === 'not-found');
});

test('source names and copy arguments', () => {
  assert.deepEqual(sourceName('/etc/passwd'), { name: 'passwd', contentsOnly: false });
  assert.deepEqual(sourceName('/etc/'), { name: 'etc', contentsOnly: false });
  assert.deepEqual(sourceName('/etc/.'), { name: '.', contentsOnly: true });
  assert.deepEqual(sourceName('/'), { name: '.', contentsOnly: true });
  assert.deepEqual(parseCopyArg('web:/etc'), { container: 'web', path: '/etc' });
  assert.deepEqual(parseCopyArg('web:etc'), { container: 'web', path: '/etc' });
  assert.deepEqual(parseCopyArg('-'), { stream: true });
  assert.deepEqual(parseCopyArg('./a:b'), { host: './a:b' });
  assert.deepEqual(parseCopyArg('out'), { host: 'out' });
});
