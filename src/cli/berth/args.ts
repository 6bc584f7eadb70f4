// `berth`'s commands as data (word paths like ['image', 'prune'], flags, positionals), parsed with
// the shared parser in ../argv.ts.
import { invalid } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import { parseArgs, type FlagSpec } from '../argv.ts';

export type { FlagSpec } from '../argv.ts';

export interface CommandSpec {
  /** Words that select the command, e.g. ['image', 'prune']. */
  path: string[];
  summary: string;
  flags: FlagSpec[];
  /** Positional names; a trailing `...` means one or more, `?` means optional. */
  args: string[];
  /** Flags end at the first positional (`run IMAGE CMD -x`: -x belongs to CMD). */
  stopAtFirstArg?: boolean;
  /** Run by berth itself (a monitor's exit command), not listed in the help. */
  hidden?: boolean;
}

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  args: string[];
}

/** A string flag's value, or undefined. */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** A list flag's values ([] when not given). */
export const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

/**
 * Flags then positionals of `berth` (and its commands); with `stopAtPositional` the first
 * positional and everything after it are returned unparsed in `rest` (the command words).
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], stopAtPositional: boolean): { parsed: Parsed; rest: string[] } {
  const p = parseArgs(argv, specs, stopAtPositional ? 1 : Infinity);
  const flags: Parsed['flags'] = {};
  for (const [k, v] of Object.entries(p.flags)) flags[k] = typeof v === 'number' ? String(v) : v;
  for (const spec of specs) if (spec.kind === 'bool' && flags[spec.name] === undefined) flags[spec.name] = false;
  return stopAtPositional ? { parsed: { flags, args: [] }, rest: p.positionals } : { parsed: { flags, args: p.positionals }, rest: [] };
}

export function checkArgs(cmd: CommandSpec, args: readonly string[]): void {
  const required = cmd.args.filter((a) => !a.endsWith('?')).length;
  const variadic = cmd.args.some((a) => a.replace(/\?$/, '').endsWith('...'));
  const name = cmd.path.join(' ');
  if (args.length < required) throw invalid(`berth ${name}: missing ${cmd.args[args.length]!.replace(/[.?]+$/, '')}`, { field: cmd.args[args.length] });
  if (!variadic && args.length > cmd.args.length) throw invalid(`berth ${name}: unexpected argument ${quote(args[cmd.args.length]!)}`, { field: args[cmd.args.length] });
}

export function usage(cmd: CommandSpec): string {
  const lines = [`Usage: berth ${cmd.path.join(' ')}${cmd.flags.length ? ' [flags]' : ''} ${cmd.args.map((a) => a.toUpperCase()).join(' ')}`.trimEnd(), '', cmd.summary];
  if (cmd.flags.length) {
    lines.push('', 'Flags:');
    const names = cmd.flags.map((f) => `  ${f.alias ? `-${f.alias}, ` : '    '}--${f.name}${f.kind === 'bool' ? '' : ' <value>'}`);
    const width = Math.max(30, ...names.map((n) => n.length + 2));
    cmd.flags.forEach((f, i) => lines.push(names[i]!.padEnd(width) + f.help));
  }
  return lines.join('\n');
}
