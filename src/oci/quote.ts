// Text that comes from users or from images (ids, names, tags, references, paths in archives) is
// shown in messages through quote(): in double quotes, with backslashes, quotes and every control
// or invisible formatting character escaped, as Go's %q prints it in containerd's and podman's
// errors. A container named "\x1b[2J" or a tag holding "\n" cannot clear the screen, move the
// cursor or forge a second line of output.

const SHORT: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };

// C0 and C1 controls, DEL, format characters (bidirectional overrides, zero-width joiners...),
// line and paragraph separators, and lone surrogates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

function escapeChar(c: string): string {
  const short = SHORT[c];
  if (short) return short;
  const cp = c.codePointAt(0)!;
  const hex = cp.toString(16);
  if (cp < 0x100) return `\\x${hex.padStart(2, '0')}`;
  if (cp < 0x10000) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
}

/** `s` in double quotes, escaped: `quote('a"b\x1b')` is `"a\"b\x1b"`. */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(UNSAFE, escapeChar)}"`;
}

/**
 * Escapes only the control and formatting characters of `s` (for a whole message line that may
 * already hold quoted parts, and for names shown inside quotes the message writes itself).
 */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}
