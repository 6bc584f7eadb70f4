// A small command-line parser driven by data: each command declares its flags and positional
// arguments; parsing returns typed values or an invalid-argument error naming the flag.
import { invalid } from '../../oci/errors.ts';

export interface FlagSpec {
  name: string;
  short?: string;
  /** 'bool' flags take no value; 'string' flags take one; 'list' flags repeat. */
  kind: 'bool' | 'string' | 'list';
  help: string;
  default?: string;
}

export interface CommandSpec {
  /** Words that select the command, e.g. ['image', 'prune']. */
  path: string[];
  summary: string;
  flags: FlagSpec[];
  /** Positional names; a trailing `...` means one or more, `?` means optional. */
  args: string[];
  /** Flags end at the first positional (`run IMAGE CMD -x`: -x belongs to CMD). */
  stopAtFirstArg?: boolean;
}

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  args: string[];
}

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], stopAtPositional: boolean): { parsed: Parsed; rest: string[] } {
  const flags: Parsed['flags'] = {};
  for (const s of specs) flags[s.name] = s.kind === 'bool' ? false : s.kind === 'list' ? [] : s.default;
  const args: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      i = argv.length;
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const key = a.startsWith('--') ? a.slice(2, eq < 0 ? undefined : eq) : a.slice(1, 2);
      const spec = a.startsWith('--') ? specs.find((s) => s.name === key) : specs.find((s) => s.short === key);
      if (!spec) throw invalid(`unknown flag ${a.startsWith('--') ? `--${key}` : `-${key}`}`, { field: a });
      let value: string | undefined = eq >= 0 && a.startsWith('--') ? a.slice(eq + 1) : undefined;
      if (!a.startsWith('--') && a.length > 2) value = a.slice(2);
      if (spec.kind === 'bool') {
        if (value !== undefined && value !== 'true' && value !== 'false') throw invalid(`flag --${spec.name} takes no value`, { field: `--${spec.name}` });
        flags[spec.name] = value !== 'false';
        continue;
      }
      if (value === undefined) {
        if (i + 1 >= argv.length) throw invalid(`flag --${spec.name} needs a value`, { field: `--${spec.name}` });
        value = argv[++i]!;
      }
      if (spec.kind === 'list') (flags[spec.name] as string[]).push(value);
      else flags[spec.name] = value;
      continue;
    }
    if (stopAtPositional) break;
    args.push(a);
  }
  return { parsed: { flags, args }, rest: argv.slice(i) };
}

export function checkArgs(cmd: CommandSpec, args: readonly string[]): void {
  const required = cmd.args.filter((a) => !a.endsWith('?')).length;
  const variadic = cmd.args.some((a) => a.replace(/\?$/, '').endsWith('...'));
  const name = cmd.path.join(' ');
  if (args.length < required) throw invalid(`berth ${name}: missing ${cmd.args[args.length]!.replace(/[.?]+$/, '')}`, { field: cmd.args[args.length] });
  if (!variadic && args.length > cmd.args.length) throw invalid(`berth ${name}: unexpected argument "${args[cmd.args.length]}"`, { field: args[cmd.args.length] });
}

export function usage(cmd: CommandSpec): string {
  const lines = [`Usage: berth ${cmd.path.join(' ')}${cmd.flags.length ? ' [flags]' : ''} ${cmd.args.map((a) => a.toUpperCase()).join(' ')}`.trimEnd(), '', cmd.summary];
  if (cmd.flags.length) {
    lines.push('', 'Flags:');
    for (const f of cmd.flags) lines.push(`  ${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.kind === 'bool' ? '' : ' <value>'}`.padEnd(30) + f.help);
  }
  return lines.join('\n');
}
