// Physical lines to logical instruction lines, as BuildKit's parser reads them:
// - parser directives (`# syntax=`, `# escape=`, `# check=`) only at the very top, before any
//   comment, blank line or instruction; each at most once;
// - `#` comments only at the start of a line (after whitespace); inside an instruction a `#` is text;
// - a line ending in the escape character (`\`, or `` ` ``) continues on the next one; comment lines
//   and empty lines inside a continuation are skipped (an empty one with a warning);
// - after an instruction that opens heredocs, their bodies follow verbatim, in order.

import type { Heredoc } from './heredoc.ts';
import { dockerfileError } from './parse-error.ts';

export interface Directives {
  syntax?: string;
  escape: '\\' | '`';
  /** `# check=`: the lint configuration; berth records it and lints nothing. */
  check?: string;
}

export interface LogicalLine {
  /** The instruction text, continuations joined, comments inside removed. */
  text: string;
  startLine: number;
  endLine: number;
  /** 1-based column of the instruction keyword on its first line. */
  column: number;
  /** How much of `text` comes from the first physical line (to place columns). */
  firstLength: number;
  heredocs: Heredoc[];
  /** The comment lines just above the instruction. */
  comments: string[];
}

export interface ScannedDockerfile {
  directives: Directives;
  lines: LogicalLine[];
  warnings: { line: number; message: string }[];
}

const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

/** Splits text into lines keeping each line's ending, like BuildKit's scanner. */
function physicalLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\n') {
      out.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

const trimNewline = (s: string): string => s.replace(/[\r\n]+$/, '');
const trimLeft = (s: string): string => s.replace(/^\s+/u, '');
const isComment = (raw: string): boolean => trimLeft(trimNewline(raw)).startsWith('#');

export interface ScanOptions {
  file: string;
  /** Whether an instruction line may open heredocs (RUN/COPY/ADD in shell form, or ONBUILD of one). */
  opensHeredocs: (line: string, escape: string) => boolean;
  /** Finds the heredocs a line opens. */
  heredocsOf: (line: string) => Omit<Heredoc, 'content'>[];
}

export function scanDockerfile(source: string, opts: ScanOptions): ScannedDockerfile {
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const lines = physicalLines(text);
  const directives: Directives = { escape: '\\' };
  const seen = new Set<string>();
  let lookingForDirectives = true;
  let continuation = makeContinuationRe('\\');
  const out: LogicalLine[] = [];
  const warnings: { line: number; message: string }[] = [];
  let comments: string[] = [];

  const directiveOf = (token: string, lineNo: number): void => {
    if (!lookingForDirectives) return;
    const m = DIRECTIVE_RE.exec(token);
    const key = m?.[1]?.toLowerCase();
    if (!m || !key || !KNOWN_DIRECTIVES.has(key)) {
      lookingForDirectives = false;
      return;
    }
    const at = { file: opts.file, line: lineNo, column: 1 };
    if (seen.has(key)) throw dockerfileError(at, `only one ${key} parser directive can be used`);
    seen.add(key);
    const value = m[2]!;
    if (key === 'escape') {
      if (value !== '\\' && value !== '`') throw dockerfileError(at, `invalid escape token '${value}' does not match \` or \\`);
      directives.escape = value;
      continuation = makeContinuationRe(value);
    } else if (key === 'syntax') directives.syntax = value;
    else directives.check = value;
  };

  let i = 0;
  while (i < lines.length) {
    const raw = lines[i]!;
    const lineNo = ++i;
    const firstToken = trimLeft(trimNewline(raw));
    if (isComment(raw)) {
      const comment = firstToken.slice(1).trim();
      if (comment === '') comments = [];
      else comments.push(comment);
    }
    directiveOf(firstToken, lineNo);
    let line = firstToken.startsWith('#') ? '' : firstToken;
    const startLine = lineNo;
    const column = trimNewline(raw).length - firstToken.length + 1;
    let ended = !continuation.test(line);
    if (!ended) line = line.replace(continuation, '$1');
    if (ended && line === '') continue;
    const firstLength = line.length;

    let emptyContinuation = false;
    while (!ended && i < lines.length) {
      const next = lines[i]!;
      i++;
      if (isComment(next)) continue;
      const body = trimNewline(next);
      if (trimLeft(body) === '') {
        emptyContinuation = true;
        continue;
      }
      ended = !continuation.test(body);
      line += ended ? body : body.replace(continuation, '$1');
    }
    if (emptyContinuation) warnings.push({ line: startLine, message: `empty continuation line in: ${line}` });

    const heredocs: Heredoc[] = [];
    if (line.includes('<<') && opts.opensHeredocs(line, directives.escape)) {
      for (const h of opts.heredocsOf(line)) {
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const bodyLine = lines[i]!;
          i++;
          let candidate = trimNewline(bodyLine);
          if (h.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === h.name) {
            terminated = true;
            break;
          }
          content += bodyLine;
        }
        if (!terminated) throw dockerfileError({ file: opts.file, line: startLine, column }, `unterminated heredoc <<${h.name}: expected a line "${h.name}" before the end of the file`);
        heredocs.push({ ...h, content });
      }
    }
    out.push({ text: line, startLine, endLine: i, column, firstLength, heredocs, comments });
    comments = [];
  }
  if (out.length === 0) throw dockerfileError({ file: opts.file, line: Math.max(lines.length, 1), column: 1 }, 'file with no instructions: expected at least a FROM');
  return { directives, lines: out, warnings };
}

/** A line ends in the escape character (optionally followed by blanks) not itself escaped. */
function makeContinuationRe(escape: string): RegExp {
  const e = escape === '\\' ? '\\\\' : escape;
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

