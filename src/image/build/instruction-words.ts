// How BuildKit's parser cuts one logical line into the instruction keyword, its `--flags` and its
// arguments, and how each instruction's arguments are read: a JSON array (exec form) or words.

const TOKEN_WHITESPACE = /[\t\v\f\r ]+/;

export interface SplitLine {
  /** Lower-cased instruction keyword. */
  keyword: string;
  /** The keyword as written (for messages). */
  written: string;
  /** `--name=value` / `--name` flags, quotes removed. */
  flags: string[];
  /** The rest of the line after the flags, trimmed. */
  rest: string;
}

export function splitInstruction(line: string): SplitLine {
  const trimmed = line.trim();
  const m = TOKEN_WHITESPACE.exec(trimmed);
  const written = m ? trimmed.slice(0, m.index) : trimmed;
  const after = m ? trimmed.slice(m.index + m[0].length) : '';
  const { rest, flags } = after === '' ? { rest: '', flags: [] } : extractFlags(after);
  return { keyword: written.toLowerCase(), written, flags, rest: rest.trim() };
}

/** Leading words that start with `--` are flags; `--` alone ends them. Quotes group, `\` escapes. */
function extractFlags(line: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const ch = pos < line.length ? line[pos]! : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (/\s/.test(ch)) continue;
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return { rest: line.slice(pos), flags };
      phase = 'word';
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOk || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (/\s/.test(ch)) {
        phase = 'spaces';
        if (word === '--') return { rest: line.slice(pos), flags };
        if (blankOk || word.length > 0) flags.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue;
        pos++;
        word += line[pos];
        continue;
      }
      word += ch;
      continue;
    }
    // in a quote
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      pos++;
      word += line[pos];
      continue;
    }
    word += ch;
  }
  return { rest: '', flags };
}

/** Words separated by whitespace; quotes and escapes are kept for the lexer to process later. */
export function splitWordsKeepingQuotes(rest: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos <= chars.length; pos++) {
    const ch = chars[pos] ?? '';
    const end = pos === chars.length;
    if (phase === 'spaces') {
      if (end) break;
      if (/\s/u.test(ch)) continue;
      phase = 'word';
    }
    if (end) {
      if (blankOk || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (/\s/u.test(ch)) {
        phase = 'spaces';
        if (blankOk || word.length > 0) words.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue; // an escape at the very end is dropped
        word += ch;
        pos++;
        word += chars[pos];
        continue;
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      pos++;
      word += chars[pos];
      continue;
    }
    word += ch;
  }
  return words;
}

export const splitWhitespace = (rest: string): string[] => (rest === '' ? [] : rest.split(/[\t\v\f\r ]+/));

export type JsonArgs = { json: true; args: string[] } | { json: false };

/**
 * The exec form: a JSON array of strings. Anything that is not valid JSON is shell form (so
 * `RUN ["echo" "x"]` runs `["echo" "x"]` in the shell, as docker does); valid JSON that is not an
 * array of strings is an error.
 */
export function parseJsonArgs(rest: string): JsonArgs | { error: string } {
  const text = rest.replace(/^\s+/u, '');
  if (!text.startsWith('[')) return { json: false };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { json: false };
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    return { error: 'when using JSON array syntax, arrays must be comprised of strings only' };
  }
  return { json: true, args: value as string[] };
}
