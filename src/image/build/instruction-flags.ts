// The `--flag` grammar of Dockerfile instructions (BuildKit's BFlags): `--name=value` for strings,
// `--name` or `--name=true|false` for booleans, repeatable `--name=value` for lists. An unknown or
// repeated flag is an error that lists the flags the instruction takes.

export type FlagKind = 'bool' | 'string' | 'strings';

export interface ParsedFlags {
  bools: Map<string, boolean>;
  strings: Map<string, string>;
  lists: Map<string, string[]>;
  /** Flags that were given, in order. */
  used: string[];
}

export class FlagError extends Error {
  constructor(
    message: string,
    /** The flag as written, to locate it on the line. */
    readonly flag: string,
  ) {
    super(message);
  }
}

export function parseFlags(instruction: string, given: readonly string[], spec: Readonly<Record<string, FlagKind>>): ParsedFlags {
  const out: ParsedFlags = { bools: new Map(), strings: new Map(), lists: new Map(), used: [] };
  const expected = Object.keys(spec).map((k) => `--${k}`);
  for (const raw of given) {
    if (!raw.startsWith('--')) throw new FlagError(`${instruction}: flag should start with --: ${raw}`, raw);
    if (raw === '--') break;
    const eq = raw.indexOf('=');
    const name = eq >= 0 ? raw.slice(2, eq) : raw.slice(2);
    const value = eq >= 0 ? raw.slice(eq + 1) : '';
    const kind = spec[name];
    if (kind === undefined) {
      const hint = expected.length ? ` (expected ${expected.length === 1 ? '' : 'one of '}${expected.join(', ')})` : ` (${instruction} takes no flags)`;
      throw new FlagError(`${instruction}: unknown flag --${name}${hint}`, raw);
    }
    if (out.used.includes(name) && kind !== 'strings') throw new FlagError(`${instruction}: duplicate flag specified: --${name}`, raw);
    out.used.push(name);
    if (kind === 'bool') {
      if (eq >= 0 && value === '') throw new FlagError(`${instruction}: missing a value on flag --${name}`, raw);
      const lower = value.toLowerCase();
      if (lower !== '' && lower !== 'true' && lower !== 'false') {
        throw new FlagError(`${instruction}: expecting boolean value for flag --${name}, not: ${value}`, raw);
      }
      out.bools.set(name, lower !== 'false');
    } else {
      if (eq < 0) throw new FlagError(`${instruction}: missing a value on flag --${name} (expected --${name}=VALUE)`, raw);
      if (kind === 'string') out.strings.set(name, value);
      else out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
    }
  }
  return out;
}
