// The one command-line parser of berth's CLIs, driven by data: a table of flags. Accepts
// `--flag value`, `--flag=value`, `-flag value` (as urfave/cli, which runc uses), short aliases
// (`-e value`, docker's attached `-eKEY=value` and bundled `-it`); `--` ends the flags.

import { invalid } from '../oci/errors.ts';

export interface FlagSpec {
  name: string;
  alias?: string;
  kind: 'bool' | 'string' | 'int' | 'list';
  help: string;
  default?: string | number | boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional arguments, as shown in usage: `<container-id>`, `[signal]`, `[command...]`. */
  args: string[];
  flags: FlagSpec[];
  /** Stop parsing flags at the first positional after this many (exec's command). */
  stopAfterPositionals?: number;
}

export type FlagValue = string | number | boolean | string[];

export interface Parsed {
  flags: Record<string, FlagValue>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], flags: readonly FlagSpec[], stopAfter = Infinity): Parsed {
  const out: Parsed = { flags: {}, positionals: [] };
  for (const f of flags) {
    if (f.default !== undefined) out.flags[f.name] = f.default;
    if (f.kind === 'list') out.flags[f.name] = [];
  }
  const byName = new Map<string, FlagSpec>();
  for (const f of flags) {
    byName.set(f.name, f);
    if (f.alias) byName.set(f.alias, f);
  }
  let i = 0;
  let onlyPositionals = false;
  while (i < argv.length) {
    const arg = argv[i++]!;
    if (onlyPositionals || arg === '-' || !arg.startsWith('-')) {
      out.positionals.push(arg);
      if (out.positionals.length >= stopAfter) onlyPositionals = true;
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    let body = arg.replace(/^--?/, '');
    let eq = body.indexOf('=');
    let name = eq >= 0 ? body.slice(0, eq) : body;
    let spec = byName.get(name);
    // docker's attached short values: -eKEY=value, -w/tmp
    if (!spec && !arg.startsWith('--') && body.length > 1) {
      const short = byName.get(body[0]!);
      if (short && short.alias === body[0] && short.kind !== 'bool') {
        spec = short;
        name = body[0]!;
        body = `${name}=${body.slice(1)}`;
        eq = 1;
      }
    }
    // bundled short flags, as docker's `-it` or `-dit`: every letter a short alias, only the last
    // one may take a value (from the next argument)
    if (!spec && !arg.startsWith('--') && eq < 0 && body.length > 1) {
      const letters = [...body].map((c) => byName.get(c));
      const isAlias = (f: FlagSpec | undefined, c: string): f is FlagSpec => f?.alias === c;
      if (letters.every((f, k) => isAlias(f, body[k]!) && (k === letters.length - 1 || f.kind === 'bool'))) {
        for (const f of letters.slice(0, -1)) out.flags[f!.name] = true;
        spec = letters[letters.length - 1]!;
        name = spec.alias!;
        body = name;
      }
    }
    if (!spec) throw invalid(`unknown flag ${arg.split('=')[0]}`, { field: name });
    if (spec.kind === 'bool') {
      const v = eq >= 0 ? body.slice(eq + 1) : 'true';
      if (v !== 'true' && v !== 'false') throw invalid(`flag --${spec.name} takes no value`, { field: `--${spec.name}` });
      out.flags[spec.name] = v === 'true';
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      if (i >= argv.length) throw invalid(`flag --${spec.name} needs a value`, { field: spec.name });
      value = argv[i++]!;
    }
    if (spec.kind === 'int') {
      if (!/^-?\d+$/.test(value)) throw invalid(`flag --${spec.name}: "${value}" is not a number`, { field: spec.name });
      out.flags[spec.name] = Number(value);
    } else if (spec.kind === 'list') {
      (out.flags[spec.name] as string[]).push(value);
    } else out.flags[spec.name] = value;
  }
  return out;
}

export function usage(program: string, cmd: CommandSpec): string {
  const lines = [`usage: ${program} ${cmd.name}${cmd.flags.length ? ' [flags]' : ''} ${cmd.args.join(' ')}`.trimEnd(), '', cmd.summary];
  if (cmd.flags.length) {
    lines.push('', 'flags:');
    for (const f of cmd.flags) {
      const names = `--${f.name}${f.alias ? `, -${f.alias}` : ''}${f.kind === 'bool' ? '' : ' value'}`;
      lines.push(`  ${names.padEnd(28)} ${f.help}`);
    }
  }
  return lines.join('\n');
}
