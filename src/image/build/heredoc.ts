// Heredocs in RUN, COPY and ADD (BuildKit's Dockerfile 1.4 syntax):
//
//   RUN <<EOF            the body, up to a line that is exactly EOF, is the script
//   RUN <<-EOF           leading tabs are stripped from the body and the terminator line
//   COPY <<"EOF" /file   a quoted name (any part quoted) turns off variable expansion in the body
//   RUN 3<<A cat /dev/fd/3 <<B ...   several on one line: bodies follow in order

import { expandWords, LexError } from './shell-lexer.ts';

export interface Heredoc {
  name: string;
  /** `<<-`: strip leading tabs from body lines and the terminator. */
  chomp: boolean;
  /** False when the name was quoted: the body is taken literally. */
  expand: boolean;
  /** The file descriptor written before `<<` (`3<<EOF`), 0 when none. */
  fd: number;
  /** The body, each line with its newline, without the terminator line. */
  content: string;
}

export const HEREDOC_INSTRUCTIONS: ReadonlySet<string> = new Set(['run', 'copy', 'add']);

const HEREDOC_RE = /^(\d*)<<(-?)\s*([^<]*)$/;
const NO_ENV = new Map<string, string>();

/** The heredoc a single word opens (`<<EOF`, `<<-"EOF"`, `3<<EOF`), or undefined. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_RE.exec(word);
  if (!m) return undefined;
  const rest = m[3]!;
  if (rest === '') return undefined;
  let plain: string[];
  let raw: string[];
  try {
    plain = expandWords(rest, NO_ENV, { skipUnsetEnv: true });
    raw = expandWords(rest, NO_ENV, { skipUnsetEnv: true, rawQuotes: true });
  } catch (err) {
    if (err instanceof LexError) return undefined;
    throw err;
  }
  if (plain.length !== 1 || raw.length !== 1) return undefined;
  const name = plain[0]!;
  const quotes = (s: string): number => (s.match(/['"]/g) ?? []).length;
  return { name, chomp: m[2] === '-', expand: quotes(name) === quotes(raw[0]!), fd: m[1] ? Number(m[1]) : 0 };
}

/** The heredocs a logical instruction line opens, in order. */
export function heredocsInLine(line: string): Omit<Heredoc, 'content'>[] {
  let words: string[];
  try {
    words = expandWords(line, NO_ENV, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  } catch (err) {
    if (err instanceof LexError) return [];
    throw err;
  }
  const out: Omit<Heredoc, 'content'>[] = [];
  for (let i = 0; i < words.length; i++) {
    let word = words[i]!;
    // `<< EOF` and `<<- EOF`: the name may follow after blanks.
    if (/^\d*<<-?$/.test(word) && i + 1 < words.length) word += ` ${words[++i]!}`;
    const h = parseHeredocWord(word);
    if (h) out.push(h);
  }
  return out;
}

/** `<<-` bodies: leading tabs removed from every line. */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}
