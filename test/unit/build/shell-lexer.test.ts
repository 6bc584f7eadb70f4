// BuildKit's word lexer: cases from BuildKit's shell/lex_test.go and its envVarTest table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandWord, expandWords, lex } from '../../../src/image/build/shell-lexer.ts';

const env = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['KOREAN', '한국어'],
  ['NULL', ''],
]);

// [input, expected] with env above; 'error' means the lexer must refuse.
const words: [string, string][] = [
  ['hello', 'hello'],
  ['he\'llo\'', 'hello'],
  ['he\'ll"o\'', 'hell"o'],
  ['"hello"', 'hello'],
  ["'$PWD'", '$PWD'],
  ['"$PWD"', '/home'],
  ['$PWD', '/home'],
  ['${PWD}', '/home'],
  ['\\$PWD', '$PWD'],
  ['he\\$PWD', 'he$PWD'],
  ["he'$PWD'", 'he$PWD'],
  ['he"$PWD"', 'he/home'],
  ['"he\\$PWD"', 'he$PWD'],
  ['"he\\x"', 'he\\x'],
  ['"he\\\\x"', 'he\\x'],
  ['he\\x', 'hex'],
  ['${PWD:-xx}', '/home'],
  ['${NULL:-xx}', 'xx'],
  ['${NULL-xx}', ''],
  ['${UNSET-xx}', 'xx'],
  ['${UNSET:-${PWD}x}', '/homex'],
  ['${PWD:+xx}', 'xx'],
  ['${NULL:+xx}', ''],
  ['${NULL+xx}', 'xx'],
  ['${UNSET+xx}', ''],
  ['${UNSET:+xx}', ''],
  ['$KOREAN', '한국어'],
  ['안녕$KOREAN', '안녕한국어'],
  ['$', '$'],
  ['$ x', '$ x'],
  ['${}', 'error'],
  ['${:}', 'error'],
  ['${PWD', 'error'],
  ['${PWD:-x', 'error'],
  ['${PWD:=x}', 'error'],
  ['${PWD=x}', 'error'],
  ['"unterminated', 'error'],
  ["'unterminated", 'error'],
  ['$1', ''],
  ['${PWD#/h}', 'ome'],
  ['${PWD%me}', '/ho'],
  ['${SHELL/a/A}', 'bAsh'],
  ['a\\', 'a'],
  ['"a b"c', 'a bc'],
];

test('BuildKit word substitution table', () => {
  for (const [input, expected] of words) {
    if (expected === 'error') assert.throws(() => expandWord(input, env), Error, input);
    else assert.equal(expandWord(input, env), expected, input);
  }
});

test('modifiers as in BuildKit TestProcessWithMatches', () => {
  const e = new Map([['FOO', 'xxx'], ['BAR', '']]);
  assert.equal(expandWord('${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', e), 'xxx  ccc');
  assert.equal(expandWord('${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', e), 'xxx bbb ccc');
  assert.equal(expandWord('${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', e), 'aaa bbb ');
  assert.equal(expandWord('${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', e), 'aaa  ');
  assert.equal(expandWord('${FOO?aaa}', e), 'xxx');
  assert.equal(expandWord('${BAR?bbb}', e), '');
  assert.throws(() => expandWord('${BAZ?ccc}', e), /BAZ: ccc/);
  assert.throws(() => expandWord('${BAR:?bbb}', e), /BAR: bbb/);
  assert.throws(() => expandWord('${BAZ:?}', e), /BAZ: is not allowed to be unset/);
  assert.throws(() => expandWord('${BAR:?}', e), /BAR: is not allowed to be empty/);
  const r = lex('${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', e);
  assert.deepEqual([...r.matched].sort(), ['BAR', 'FOO']);
  assert.deepEqual([...r.unmatched], ['BAZ']);
});

test('pattern removal and replacement as in BuildKit', () => {
  const v = (FOO: string, extra: [string, string][] = []) => new Map([['FOO', FOO], ...extra]);
  assert.equal(expandWord('${FOO#()[]{\\}^$.\\*\\?|\\\\}', v('()[]{}^$.*?|\\x')), 'x');
  assert.equal(expandWord('${FOO%%\\**}', v('xx**')), 'xx');
  assert.equal(expandWord('${FOO#*x*y}', v('xxyy')), 'y');
  assert.equal(expandWord('${FOO#*}', v('xxyy')), 'xxyy');
  assert.equal(expandWord('${FOO##*x}', v('xxyy')), 'yy');
  assert.equal(expandWord('${FOO#?\\?}', v('???y')), '?y');
  assert.equal(expandWord('${FOO%%\\**\\*}', v('a***yy*')), 'a');
  assert.equal(expandWord('${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', v('/foo*/*/*.txt', [['NEEDLE', '\\*/']])), '/foo.*/*.txt - /foo..*.txt');
  assert.equal(expandWord('${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', v('/tmp/tmp/bar.txt', [['NEEDLE', '/tmp']])), '/tmp/bar.txt - /bar.txt');
  assert.equal(expandWord('${FOO//\\//\\/}', v('/tmp/foo.txt')), '\\/tmp\\/foo.txt');
  assert.equal(expandWord('${FOO/$BAR/ww}', v('xxyy', [['BAR', '']])), 'wwxxyy');
  assert.throws(() => expandWord('${FOO//ww}', v('xxyy')));
  assert.equal(expandWord('${FOO///}', v('xxyy')), 'xxyy');
  const release = 'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz';
  assert.equal(expandWord(release, new Map([['VERSION', 'v1.2.3'], ['TARGETOS', 'linux'], ['TARGETARCH', 'arm'], ['TARGETVARIANT', 'v7']])), 'something-v1.2.3.linux-arm-v7.tar.gz');
  assert.equal(expandWord(release, new Map([['VERSION', 'v1.2.3'], ['TARGETOS', 'linux'], ['TARGETARCH', 'amd64']])), 'something-v1.2.3.linux-amd64.tar.gz');
});

test('words split after substitution, quotes keep spaces', () => {
  const e = new Map([['ABC', 'I am'], ['DEF', 'a b']]);
  assert.deepEqual(expandWords('hello world', e), ['hello', 'world']);
  assert.deepEqual(expandWords('$ABC x', e), ['I', 'am', 'x']);
  assert.deepEqual(expandWords('"$ABC" x', e), ['I am', 'x']);
  assert.deepEqual(expandWords("'a b' \"c d\"e", e), ['a b', 'c de']);
  assert.deepEqual(expandWords('a\\ b', e), ['a b']);
  assert.deepEqual(expandWords('  ', e), []);
});

test('the backtick escape of `# escape=`', () => {
  const e = new Map([['X', 'v']]);
  assert.equal(expandWord('`$X', e, { escape: '`' }), '$X');
  assert.equal(expandWord('c:\\dir\\$X', e, { escape: '`' }), 'c:\\dir\\v');
  assert.equal(expandWord('"a`"b"', e, { escape: '`' }), 'a"b');
});

test('skipUnsetEnv and rawQuotes keep what they do not resolve', () => {
  assert.equal(expandWord('$X ${Y} ${Z:-d} "q"', new Map(), { skipUnsetEnv: true, rawQuotes: true }), '$X ${Y} ${Z:-d} "q"');
});
