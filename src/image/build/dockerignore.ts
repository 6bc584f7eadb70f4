// .dockerignore, as moby's patternmatcher and ignorefile read it:
// - one pattern a line; a line starting with `#` is a comment; blank lines are skipped;
// - patterns are cleaned (`./a/../b` -> `b`) and a leading `/` dropped: all are relative to the
//   context root; `!` makes an exception that re-includes what earlier patterns excluded;
// - Go's filepath.Match syntax (`*` and `?` within one path segment, `[a-z]`, `\` escapes) plus
//   `**` for any number of segments;
// - the last pattern that matches a path decides; a pattern matching a directory excludes
//   everything below it, unless a later exception matches the path itself;
// - the Dockerfile and .dockerignore are context files like any other: when a pattern excludes
//   them COPY cannot see them, but the builder still reads them (docker sends them regardless).

import { posix } from 'node:path';
import { invalid } from '../../oci/errors.ts';

export function readDockerignore(text: string): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const raw of lines) {
    if (raw.startsWith('#')) continue;
    let pattern = raw.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern !== '') {
      pattern = posix.normalize(pattern);
      if (pattern.length > 1 && pattern.endsWith('/')) pattern = pattern.slice(0, -1);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push(invert ? `!${pattern}` : pattern);
  }
  return out;
}

interface Pattern {
  text: string;
  exclusion: boolean;
  dirs: string[];
  match: (path: string) => boolean;
}

/** Where a path's parent directories matched each pattern, to carry down a walk. */
export type ParentMatches = readonly boolean[] | undefined;

export class PatternMatcher {
  readonly patterns: readonly Pattern[];
  readonly hasExclusions: boolean;

  constructor(patterns: readonly string[]) {
    const out: Pattern[] = [];
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === '') continue;
      p = posix.normalize(p);
      if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw invalid('illegal exclusion pattern: "!"', { path: '.dockerignore' });
        exclusion = true;
        p = p.slice(1);
      }
      const bad = globSyntaxError(p);
      if (bad) throw invalid(`.dockerignore: bad pattern "${raw}": ${bad}`, { path: '.dockerignore' });
      out.push({ text: p, exclusion, dirs: p.split('/'), match: compilePattern(p) });
    }
    this.patterns = out;
    this.hasExclusions = out.some((p) => p.exclusion);
  }

  /** Whether a path (slash-separated, relative to the context) is excluded, parents considered. */
  matches(path: string): boolean {
    return this.matchWithParents(path, undefined).excluded;
  }

  /** The same, given the parent directory's per-pattern results (walks pass them down). */
  matchWithParents(path: string, parent: ParentMatches): { excluded: boolean; perPattern: boolean[] } {
    if (this.patterns.length === 0) return { excluded: false, perPattern: [] };
    let excluded = false;
    const perPattern: boolean[] = new Array<boolean>(this.patterns.length).fill(false);
    const parentDir = goDir(path);
    this.patterns.forEach((pattern, i) => {
      let match = parent?.[i] ?? false;
      if (!match) {
        if (pattern.exclusion !== excluded) return;
        match = pattern.match(path);
        if (!match && parent === undefined && parentDir !== '.') {
          const dirs = parentDir.split('/');
          for (let n = 1; n <= dirs.length && !match; n++) match = pattern.match(dirs.slice(0, n).join('/'));
        }
      }
      perPattern[i] = match;
      if (match) excluded = !pattern.exclusion;
    });
    return { excluded, perPattern };
  }

  /** Whether an exception could re-include something below an excluded directory. */
  mayReincludeBelow(dir: string): boolean {
    const parts = dir.split('/');
    return this.patterns.some((p) => {
      if (!p.exclusion) return false;
      for (let i = 0; i < parts.length; i++) {
        const seg = p.dirs[i];
        if (seg === undefined) return false;
        if (seg.startsWith('**')) return true;
        if (!compilePattern(seg)(parts[i]!)) return false;
      }
      return p.dirs.length > parts.length;
    });
  }
}

/** Go's filepath.Dir: everything before the last slash, cleaned ("a/b/" -> "a/b"). */
function goDir(path: string): string {
  const i = path.lastIndexOf('/');
  if (i < 0) return '.';
  const dir = posix.normalize(path.slice(0, i + 1));
  return dir.length > 1 ? dir.replace(/\/$/, '') : dir;
}

const REGEX_SPECIAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** moby's translation of a pattern to a matcher: `*` and `?` stop at `/`, `**` crosses it. */
export function compilePattern(pattern: string): (path: string) => boolean {
  let re = '^';
  let type: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  const chars = Array.from(pattern);
  for (let i = 0, iteration = 0; i < chars.length; i++, iteration++) {
    const ch = chars[i]!;
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        if (i + 1 >= chars.length) {
          if (type === 'exact') type = 'prefix';
          else {
            re += '.*';
            type = 'regexp';
          }
        } else {
          re += '(.*/)?';
          type = 'regexp';
        }
        if (iteration === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (REGEX_SPECIAL.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === '\\') {
      if (i + 1 < chars.length) {
        re += `\\${chars[++i]}`;
        type = 'regexp';
      } else re += '\\\\';
    } else if (ch === '[' || ch === ']') {
      re += ch;
      type = 'regexp';
    } else {
      re += ch;
    }
  }
  switch (type) {
    case 'exact':
      return (p) => p === pattern;
    case 'prefix': {
      const prefix = pattern.slice(0, -2);
      return (p) => p.startsWith(prefix);
    }
    case 'suffix': {
      const suffix = pattern.slice(2);
      return (p) => p.endsWith(suffix) || (suffix.startsWith('/') && p === suffix.slice(1));
    }
    default: {
      const compiled = new RegExp(`${re}$`);
      return (p) => compiled.test(p);
    }
  }
}

/** The error Go's filepath.Match reports for a malformed pattern, or undefined. */
export function globSyntaxError(pattern: string): string | undefined {
  const chars = Array.from(pattern);
  let i = 0;
  const esc = (): boolean => {
    const c = chars[i];
    if (c === undefined || c === '-' || c === ']') return false;
    if (c === '\\') {
      i++;
      if (chars[i] === undefined) return false;
    }
    i++;
    return chars[i] !== undefined;
  };
  while (i < chars.length) {
    const ch = chars[i]!;
    if (ch === '\\') {
      i++;
      if (i >= chars.length) return 'a trailing \\ escapes nothing';
      i++;
    } else if (ch === '[') {
      i++;
      if (chars[i] === '^') i++;
      let ranges = 0;
      for (;;) {
        if (chars[i] === ']' && ranges > 0) {
          i++;
          break;
        }
        if (!esc()) return 'unclosed or malformed character class [...]';
        if (chars[i] === '-') {
          i++;
          if (!esc()) return 'malformed range in character class';
        }
        ranges++;
      }
    } else i++;
  }
  return undefined;
}
