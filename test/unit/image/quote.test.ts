// quote(): names in messages as Go's %q shows them (containerd, podman).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeControls, quote } from '../../../src/oci/quote.ts';

test('quote escapes quotes, backslashes, controls and invisible formatting, and nothing else', () => {
  assert.equal(quote('busybox:latest'), '"busybox:latest"');
  assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(quote('\x1b[2J\n\r\t\x07\x00\x7f'), '"\\x1b[2J\\n\\r\\t\\a\\x00\\x7f"');
  assert.equal(quote('\u009b\u202e\u200b\u2028'), '"\\x9b\\u202e\\u200b\\u2028"');
  assert.equal(quote('\ud800'), '"\\ud800"', 'a lone surrogate');
  assert.equal(quote('\u{e0001}'), '"\\U000e0001"', 'a tag character (format, outside the BMP)');
  assert.equal(quote('héllo wörld ✓ 日本'), '"héllo wörld ✓ 日本"', 'printable text stays as it is');
  assert.equal(escapeControls('say "x\x1b"\n'), 'say "x\\x1b"\\n');
});
