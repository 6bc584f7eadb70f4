// BuildKit's Dockerfile word lexer (frontend/dockerfile/shell): quote removal and variable
// substitution, the way `docker build` does it for ADD, COPY, ENV, EXPOSE, FROM, LABEL,
// STOPSIGNAL, USER, VOLUME, WORKDIR and ARG defaults. It is not a shell: no command substitution,
// no globbing; RUN, CMD and ENTRYPOINT are left to the image's shell.
//
//   $V ${V}            value, or "" when unset
//   ${V:-w} ${V-w}     w when V is unset (":" also when empty)
//   ${V:+w} ${V+w}     w when V is set (":" and not empty), else ""
//   ${V:?m} ${V?m}     error "V: m" when unset (":" also when empty)
//   ${V#p} ${V##p} ${V%p} ${V%%p}   shortest/longest prefix/suffix pattern removal (* and ?)
//   ${V/p/r} ${V//p/r}             first/all pattern replacement
//   'single'           literal;  "double": $ expands, \ escapes only " $ and \ (the escape char)
//   \x                 x literally outside quotes (the escape char is \ or ` per `# escape=`)

export interface LexOptions {
  /** The escape character: `\` by default, `` ` `` after `# escape=\``. */
  escape?: string;
  /** Keep the quote characters in the result (used to find quoted heredoc names). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (heredoc bodies). */
  skipProcessQuotes?: boolean;
  /** Leave `$V` / `${V...}` as written when V is unset. */
  skipUnsetEnv?: boolean;
}

export interface LexResult {
  /** The word after substitution, spaces kept. */
  result: string;
  /** The same text split into words on unquoted whitespace. */
  words: string[];
  /** Variables that were looked up and found / not found. */
  matched: Set<string>;
  unmatched: Set<string>;
}

export type Env = ReadonlyMap<string, string>;

/** A lexer error: the message BuildKit gives, without location (the caller adds it). */
export class LexError extends Error {}

const EOF = '';

class Scanner {
  private pos = 0;
  private readonly chars: string[];
  constructor(text: string) {
    this.chars = Array.from(text);
  }
  peek(): string {
    return this.chars[this.pos] ?? EOF;
  }
  next(): string {
    const ch = this.chars[this.pos] ?? EOF;
    if (ch !== EOF) this.pos++;
    return ch;
  }
}

const isSpace = (ch: string): boolean => /^\s$/u.test(ch);
const isLetter = (ch: string): boolean => /^\p{L}$/u.test(ch);
const isDigit = (ch: string): boolean => /^\p{Nd}$/u.test(ch);

class Words {
  word = '';
  words: string[] = [];
  inWord = false;
  addChar(ch: string): void {
    if (isSpace(ch) && this.inWord) {
      if (this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else if (!isSpace(ch)) {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  get(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class ShellWord {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  private readonly sc: Scanner;
  private rawEscapes: boolean;
  private readonly escape: string;

  constructor(
    text: string,
    private readonly env: Env,
    private readonly opts: LexOptions,
  ) {
    this.sc = new Scanner(text);
    this.escape = opts.escape ?? '\\';
    this.rawEscapes = opts.rawEscapes ?? false;
  }

  run(): { result: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  private processStopOn(stop: string, rawEscapes: boolean): { result: string; words: string[] } {
    let result = '';
    const words = new Words();
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      while (this.sc.peek() !== EOF) {
        const ch = this.sc.peek();
        if (stop !== EOF && ch === stop) {
          this.sc.next();
          return { result, words: words.get() };
        }
        if (ch === '$') {
          const value = this.processDollar();
          result += value;
          words.addString(value);
        } else if (!this.opts.skipProcessQuotes && (ch === "'" || ch === '"')) {
          const value = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += value;
          words.addRawString(value);
        } else {
          let c = this.sc.next();
          if (c === this.escape) {
            if (this.rawEscapes) {
              words.addRawChar(c);
              result += c;
            }
            c = this.sc.next();
            if (c === EOF) break;
            words.addRawChar(c);
          } else {
            words.addChar(c);
          }
          result += c;
        }
      }
      if (stop !== EOF) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
      return { result, words: words.get() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    let result = '';
    const open = this.sc.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ch = this.sc.next();
      if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = '';
    const open = this.sc.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const peek = this.sc.peek();
      if (peek === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (peek === '"') {
        const ch = this.sc.next();
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      if (peek === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.sc.next();
      if (ch === this.escape) {
        if (this.rawEscapes) result += ch;
        const after = this.sc.peek();
        if (after === EOF) continue; // a trailing escape inside quotes is dropped
        if (after === '"' || after === '$' || after === this.escape) ch = this.sc.next();
      }
      result += ch;
    }
  }

  private processDollar(): string {
    this.sc.next();
    if (this.sc.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const [value, found] = this.getEnv(name);
      if (!found && this.opts.skipUnsetEnv) return `$${name}`;
      return value;
    }
    this.sc.next();
    const first = this.sc.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.sc.next();
    let modifier = ch;
    if (ch === EOF) throw new LexError("syntax error: missing '}'");
    switch (ch) {
      case '}': {
        const [value, set] = this.getEnv(name);
        if (!set && this.opts.skipUnsetEnv) return `\${${name}}`;
        return value;
      }
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%': {
        const nullIsUnset = ch === ':';
        if (nullIsUnset) {
          ch = this.sc.next();
          modifier += ch;
        }
        const word = this.readUntilBrace(ch === '#' || ch === '%');
        const [value, set] = this.getEnv(name);
        if (this.opts.skipUnsetEnv && !set) return `\${${name}${modifier}${word}}`;
        switch (ch) {
          case '-':
            return !set || (nullIsUnset && value === '') ? word : value;
          case '+':
            return !set || (nullIsUnset && value === '') ? '' : word;
          case '?':
            if (!set) throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
            if (nullIsUnset && value === '') throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
            return value;
          case '#':
          case '%': {
            const greedy = word.startsWith(ch);
            const pattern = greedy ? word.slice(1) : word;
            return ch === '%' ? trimSuffix(pattern, value, greedy) : trimPrefix(pattern, value, greedy);
          }
          default:
            throw new LexError(`unsupported modifier (${modifier}) in substitution`);
        }
      }
      case '/': {
        const replaceAll = this.sc.peek() === '/';
        if (replaceAll) this.sc.next();
        const pattern = this.readUntil('/', "syntax error: missing '/' in ${}");
        const replacement = this.readUntil('}', "syntax error: missing '}'");
        const [value, set] = this.getEnv(name);
        if (this.opts.skipUnsetEnv && !set) return `\${${name}/${pattern}/${replacement}}`;
        const re = shellPatternToRegex(pattern, true, false, replaceAll ? 'gu' : 'u');
        return value.replace(re, () => replacement);
      }
      default:
        throw new LexError(`unsupported modifier (${modifier}) in substitution`);
    }
  }

  private readUntilBrace(rawEscapes: boolean): string {
    try {
      return this.processStopOn('}', rawEscapes).result;
    } catch (err) {
      if (err instanceof LexError && this.sc.peek() === EOF) throw new LexError("syntax error: missing '}'");
      throw err;
    }
  }

  private readUntil(stop: string, missing: string): string {
    try {
      return this.processStopOn(stop, true).result;
    } catch (err) {
      if (err instanceof LexError && this.sc.peek() === EOF) throw new LexError(missing);
      throw err;
    }
  }

  private processName(): string {
    let name = '';
    while (this.sc.peek() !== EOF) {
      const ch = this.sc.peek();
      if (name.length === 0 && isDigit(ch)) {
        while (this.sc.peek() !== EOF && isDigit(this.sc.peek())) name += this.sc.next();
        return name;
      }
      if (name.length === 0 && '@*#?-$!0'.includes(ch)) return this.sc.next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.sc.next();
    }
    return name;
  }

  private getEnv(name: string): [string, boolean] {
    const value = this.env.get(name);
    if (value !== undefined) {
      this.matched.add(name);
      return [value, true];
    }
    this.unmatched.add(name);
    return ['', false];
  }
}

/** `*` and `?` of `${V#p}`-style patterns as a regular expression (no bracket expressions). */
function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, flags = 'u'): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') out += greedy ? '.*' : '.*?';
    else if (ch === '?') out += '.';
    else if (ch === '\\') {
      const next = chars[i + 1];
      if (next === '}' || next === '/') continue; // escaped only for ${}, not part of the pattern
      if (next !== '*' && next !== '?' && next !== '\\') throw new LexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${next ?? ''}'`);
      out += `\\${next}`;
      i++;
    } else if ('[]{}.+()|^$'.includes(ch)) out += `\\${ch}`;
    else out += ch;
  }
  return new RegExp(out, flags);
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

// A regular expression cannot find the shortest rightmost match, so both sides are reversed.
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy));
}

const reverse = (s: string): string => Array.from(s).reverse().join('');

/** Reverses a pattern keeping each escape before the character it escapes (`a\*c` -> `c\*a`). */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last; ) {
    const ch = chars[i]!;
    const o = last - i;
    if (ch === '\\' && i !== last) {
      out[o - 1] = ch;
      out[o] = chars[i + 1]!;
      i += 2;
    } else {
      out[o] = ch;
      i++;
    }
  }
  return out.join('');
}

export function lex(text: string, env: Env, opts: LexOptions = {}): LexResult {
  const sw = new ShellWord(text, env, opts);
  const { result, words } = sw.run();
  return { result, words, matched: sw.matched, unmatched: sw.unmatched };
}

/** The word after substitution (`ProcessWord`). Throws LexError. */
export function expandWord(text: string, env: Env, opts: LexOptions = {}): string {
  return lex(text, env, opts).result;
}

/** The words after substitution and splitting (`ProcessWords`). Throws LexError. */
export function expandWords(text: string, env: Env, opts: LexOptions = {}): string[] {
  return lex(text, env, opts).words;
}
