// A small command-line parser driven by data: a command table of flags and positional
// arguments. Accepts `--flag value`, `--flag=value`, `-flag value` (as urfave/cli, which runc
// uses) and short aliases; `--` ends the flags.

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

export interface Parsed {
  flags: Record<string, string | number | boolean | string[]>;
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
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = byName.get(name);
    if (!spec) throw invalid(`unknown flag ${arg.split('=')[0]}`, { field: name });
    if (spec.kind === 'bool') {
      out.flags[spec.name] = eq >= 0 ? body.slice(eq + 1) !== 'false' : true;
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
