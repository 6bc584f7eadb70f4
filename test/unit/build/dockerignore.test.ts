// .dockerignore: moby's patternmatcher and ignorefile test cases, and the context walk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { globSyntaxError, PatternMatcher, readDockerignore } from '../../../src/image/build/dockerignore.ts';
import { walkContext } from '../../../src/image/build/context-walk.ts';
import { digestSources } from '../../../src/image/build/context-digest.ts';

test('ignorefile.ReadAll: comments, blank lines, leading / and ! handling', () => {
  const content = 'test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ';
  assert.deepEqual(readDockerignore(content), ['test1', 'test2', 'a/file/here', 'lastfile', '!inverted/abs/path', '!', '!']);
  assert.deepEqual(readDockerignore('\uFEFF./a/../b/\r\n  # not a comment\n*.md\n'), ['b', '# not a comment', '*.md']);
});

// [pattern, path, exact match, match with parents]
const cases: [string, string, boolean, boolean][] = [
  ['**', 'file', true, true],
  ['**', 'file/', true, true],
  ['**/', 'file', true, true],
  ['**', 'dir/file', true, true],
  ['**/**', 'dir/file', true, true],
  ['dir/**', 'dir/file', true, true],
  ['dir/**', 'dir/dir2/file', true, true],
  ['**/dir', 'dir', true, true],
  ['**/dir', 'dir/file', false, true],
  ['**/dir2/*', 'dir/dir2/file', true, true],
  ['**/dir2/*', 'dir/dir2/file/', false, true],
  ['**/dir2/**', 'dir/dir2/dir3/file', true, true],
  ['**file', 'file', true, true],
  ['**file', 'dir/file', true, true],
  ['**/file', 'dir/file', true, true],
  ['**file', 'dir/dir/file', true, true],
  ['**/file', 'dir/dir/file', true, true],
  ['**/file*', 'dir/dir/file', true, true],
  ['**/file*', 'dir/dir/file.txt', true, true],
  ['**/file*txt', 'dir/dir/file.txt', true, true],
  ['**/file*.txt', 'dir/dir/file.txt', true, true],
  ['**/file*.txt*', 'dir/dir/file.txt', true, true],
  ['**/**/*.txt', 'dir/dir/file.txt', true, true],
  ['**/**/*.txt2', 'dir/dir/file.txt', false, false],
  ['**/*.txt', 'file.txt', true, true],
  ['**/**/*.txt', 'file.txt', true, true],
  ['a**/*.txt', 'a/file.txt', true, true],
  ['a**/*.txt', 'a/dir/file.txt', true, true],
  ['a**/*.txt', 'a/dir/dir/file.txt', true, true],
  ['a/*.txt', 'a/dir/file.txt', false, false],
  ['a/*.txt', 'a/file.txt', true, true],
  ['a/*.txt**', 'a/file.txt', true, true],
  ['a[b-d]e', 'ae', false, false],
  ['a[b-d]e', 'ace', true, true],
  ['a[b-d]e', 'aae', false, false],
  ['a[^b-d]e', 'aze', true, true],
  ['.*', '.foo', true, true],
  ['.*', 'foo', false, false],
  ['abc.def', 'abcdef', false, false],
  ['abc.def', 'abc.def', true, true],
  ['abc.def', 'abcZdef', false, false],
  ['abc?def', 'abcZdef', true, true],
  ['abc?def', 'abcdef', false, false],
  ['**/foo/bar', 'foo/bar', true, true],
  ['**/foo/bar', 'dir/foo/bar', true, true],
  ['**/foo/bar', 'dir/dir2/foo/bar', true, true],
  ['abc/**', 'abc', false, false],
  ['abc/**', 'abc/def', true, true],
  ['abc/**', 'abc/def/ghi', true, true],
  ['**/.foo', '.foo', true, true],
  ['**/.foo', 'bar.foo', false, false],
  ['a(b)c/def', 'a(b)c/def', true, true],
  ['a(b)c/def', 'a(b)c/xyz', false, false],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', true, true],
  ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true, true],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true, true],
  ['a\\\\', 'a\\', true, true],
  ['a\\*b', 'a*b', true, true],
];

test('patternmatcher: single patterns, exact and with parent directories', () => {
  for (const [pattern, path, exact, withParents] of cases) {
    const pm = new PatternMatcher([pattern]);
    assert.equal(pm.patterns[0]!.match(path), exact, `exact ${pattern} ${path}`);
    assert.equal(pm.matches(path), withParents, `parents ${pattern} ${path}`);
  }
});

test('patternmatcher: exceptions in order, folders and their exceptions', () => {
  const m = (patterns: string[], path: string) => new PatternMatcher(patterns).matches(path);
  assert.equal(m(['**', '!util/docker/web'], 'util/docker/web/foo'), false);
  assert.equal(m(['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo'), true);
  assert.equal(m(['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'), false);
  assert.equal(m(['*.go'], 'fileutils.go'), true);
  assert.equal(m(['!fileutils.go', '*.go'], 'fileutils.go'), true);
  assert.equal(m(['*.go', '!fileutils.go'], 'fileutils.go'), false);
  assert.equal(m(['docs', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(m(['docs/', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(m(['docs/*', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(m(['docs'], 'docs/sub/deep.txt'), true);
  assert.equal(m([], 'any/path'), false);
  assert.equal(new PatternMatcher(['docs', '  !docs/README.md']).hasExclusions, true);
  assert.equal(new PatternMatcher(['docs', 'config', '']).patterns.length, 2);
  assert.throws(() => new PatternMatcher(['!']), /illegal exclusion pattern/);
  assert.throws(() => new PatternMatcher(['[']), /bad pattern/);
});

test("Go filepath.Match syntax errors (moby's TestMatch)", () => {
  for (const bad of ['[]a]', '[-]', '[x-]', '[-x]', '\\', '[a-b-c]', '[', '[^', '[^bc', 'a[']) assert.ok(globSyntaxError(bad), bad);
  for (const good of ['[\\]a]', '[\\-]', '[x\\-]', '[\\-x]', 'ab[^e-g]', 'a*b?c', '[a-ζ]*']) assert.equal(globSyntaxError(good), undefined, good);
});

test('the context walk: ignore rules, exceptions below excluded dirs, symlinks never followed', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-ctx-'));
  const outside = mkdtempSync(join(tmpdir(), 'berth-outside-'));
  try {
    mkdirSync(join(root, 'src/lib'), { recursive: true });
    mkdirSync(join(root, 'node_modules/pkg'), { recursive: true });
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'Dockerfile'), 'FROM scratch\n');
    writeFileSync(join(root, '.dockerignore'), '# ignore\nnode_modules\ndocs\n!docs/keep.md\n**/*.log\nDockerfile\n.dockerignore\n');
    writeFileSync(join(root, 'src/main.c'), 'int main;');
    writeFileSync(join(root, 'src/lib/a.c'), 'a');
    writeFileSync(join(root, 'src/debug.log'), 'x');
    writeFileSync(join(root, 'node_modules/pkg/index.js'), 'x');
    writeFileSync(join(root, 'docs/keep.md'), 'keep');
    writeFileSync(join(root, 'docs/drop.md'), 'drop');
    writeFileSync(join(outside, 'secret'), 'do not read');
    symlinkSync(outside, join(root, 'src/escape'));
    symlinkSync('../../etc/passwd', join(root, 'src/lib/passwd'));
    chmodSync(join(root, 'src/main.c'), 0o755);
    const entries = await walkContext(root, { digests: true });
    {
      assert.deepEqual(entries.map((e) => `${e.type} ${e.path}`), [
        'dir docs',
        'file docs/keep.md',
        'dir src',
        'symlink src/escape',
        'dir src/lib',
        'file src/lib/a.c',
        'symlink src/lib/passwd',
        'file src/main.c',
      ]);
      const link = entries.find((e) => e.path === 'src/escape')!;
      assert.equal(link.linkTarget, outside);
      assert.equal(entries.find((e) => e.path === 'src/main.c')!.mode, 0o755);
      // Content digests of COPY sources: a file, a directory, a wildcard.
      const a = digestSources(entries, ['src/']);
      assert.equal(digestSources(entries, ['./src']), a);
      assert.notEqual(digestSources(entries, ['src/lib']), a);
      assert.equal(digestSources(entries, ['src/*.c']), digestSources(entries, ['src/main.c']));
      assert.throws(() => digestSources(entries, ['docs/drop.md']), /not in the build context \(or is excluded by .dockerignore\)/);
      writeFileSync(join(root, 'src/lib/a.c'), 'changed');
      const again = await walkContext(root, { digests: true });
      assert.notEqual(digestSources(again, ['src']), a);
      assert.equal(digestSources(again, ['docs/keep.md']), digestSources(entries, ['docs/keep.md']));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});
