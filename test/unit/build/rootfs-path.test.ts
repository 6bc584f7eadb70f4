// Paths resolved inside a build root as BuildKit scopes them, the image config document, and the
// small decisions of the build command (--output, ADD file names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirInRoot, resolveInRoot } from '../../../src/containers/build/rootfs-path.ts';
import { imageConfigDocument } from '../../../src/containers/build/image-commit.ts';
import { urlFileName } from '../../../src/containers/build/url-fetch.ts';
import { parseOutput } from '../../../src/cli/berth/build-command.ts';

test('resolveInRoot follows symlinks inside the root only: absolute targets from the root, .. stops at it', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-rootpath-'));
  try {
    mkdirSync(join(root, 'usr/lib'), { recursive: true });
    symlinkSync('/usr/lib', join(root, 'lib'));
    symlinkSync('../../../../etc', join(root, 'usr/up'));
    symlinkSync('/', join(root, 'top'));
    symlinkSync('loop-b', join(root, 'loop-a'));
    symlinkSync('loop-a', join(root, 'loop-b'));
    writeFileSync(join(root, 'usr/file'), 'x');
    assert.deepEqual(resolveInRoot(root, '/lib/x.so'), ['usr', 'lib', 'x.so']);
    assert.deepEqual(resolveInRoot(root, 'usr/up/passwd'), ['etc', 'passwd']);
    assert.deepEqual(resolveInRoot(root, '/top/top/usr'), ['usr']);
    assert.deepEqual(resolveInRoot(root, '/../../usr/./lib/'), ['usr', 'lib']);
    assert.deepEqual(resolveInRoot(root, '/missing/../../lib'), ['lib'], 'a missing component ends resolution; .. still clamps');
    assert.deepEqual(resolveInRoot(root, '/lib', false), ['lib'], 'the last link is kept when asked');
    assert.throws(() => resolveInRoot(root, '/loop-a/x'), /too many levels of symbolic links/);
    assert.throws(() => resolveInRoot(root, '/usr/file/x'), /is not a directory/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('mkdirInRoot makes missing parents and refuses a symlink or file in the way', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-mkdir-'));
  try {
    symlinkSync('/tmp', join(root, 'link'));
    writeFileSync(join(root, 'file'), '');
    mkdirInRoot(root, ['a', 'b', 'c'], { uid: 0, gid: 0, mode: 0o750 });
    assert.throws(() => mkdirInRoot(root, ['link', 'x'], { uid: 0, gid: 0 }), /a symlink is in the way/);
    assert.throws(() => mkdirInRoot(root, ['file', 'x'], { uid: 0, gid: 0 }), /a file is in the way/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the image config document has a fixed field order, labels merged, platform fields', () => {
  const doc = imageConfigDocument({
    platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    config: { Env: ['A=1'], Labels: { a: '1' } },
    author: 'me',
    created: '2023-11-14T22:13:20Z',
    layers: [{ descriptor: { mediaType: 'x', digest: 'sha256:aa', size: 1 }, diffId: 'sha256:bb' }],
    history: [{ created_by: 'RUN x' }],
    labels: [['b', '2'], ['a', 'override']],
  });
  assert.deepEqual(Object.keys(doc), ['created', 'author', 'architecture', 'os', 'variant', 'config', 'rootfs', 'history']);
  assert.deepEqual(doc.config?.Labels, { a: 'override', b: '2' });
  assert.deepEqual(doc.rootfs.diff_ids, ['sha256:bb']);
});

test('--output and ADD file names', () => {
  assert.deepEqual(parseOutput('type=oci,dest=/x/y.tar'), { type: 'oci', dest: '/x/y.tar' });
  assert.deepEqual(parseOutput('dest=out.tar,type=docker'), { type: 'docker', dest: 'out.tar' });
  assert.throws(() => parseOutput('type=local,dest=x'), /expected type=oci/);
  assert.throws(() => parseOutput('type=oci'), /expected type=oci/);
  assert.equal(urlFileName('http://h/a/b/tool.tar.gz?x=1'), 'tool.tar.gz');
  assert.equal(urlFileName('http://h/'), '__unnamed__');
  assert.equal(urlFileName('http://h/dir/%20x'), ' x');
});
