// Entry of the `berth` developer CLI (image commands; `run` and friends are wired by their owners).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { BerthError } from '../../oci/errors.ts';
import { cliExitCode, type FailedCommand } from './exit-codes.ts';
import { quote } from '../../oci/quote.ts';
import { errorLine } from './error-line.ts';
import { checkArgs, parseFlags, usage } from './args.ts';
import { COMMANDS, GLOBAL_FLAGS, findCommand } from './commands.ts';
import { HANDLERS, readStdinSync, type CliContext } from './image-commands.ts';
import { importCommand, psCommand, rmCommand, runCommand } from './container-commands.ts';
import { attachCommand, logsCommand, stopCommand } from './container-background.ts';
import { execCommand } from './container-exec.ts';
import { buildCommand } from './build-command.ts';
import { networkCreateCommand, networkInspectCommand, networkLsCommand, networkRmCommand, portCommand } from './network-commands.ts';
import { updateCommand } from './update-command.ts';
import { VOLUME_HANDLERS } from './volume-commands.ts';
import { statsCommand } from './stats-command.ts';
import { topCommand } from './top-command.ts';
import { LIFECYCLE_HANDLERS } from './lifecycle-handlers.ts';

const CONTAINER_HANDLERS: Record<string, (ctx: CliContext, p: import('./args.ts').Parsed) => Promise<number>> = {
  run: runCommand,
  exec: execCommand,
  logs: logsCommand,
  attach: attachCommand,
  stop: stopCommand,
  ps: psCommand,
  rm: rmCommand,
  import: importCommand,
  build: buildCommand,
  port: portCommand,
  'network create': networkCreateCommand,
  'network ls': networkLsCommand,
  'network inspect': networkInspectCommand,
  'network rm': networkRmCommand,
  update: updateCommand,
  ...VOLUME_HANDLERS,
  stats: statsCommand,
  top: topCommand,
  ...LIFECYCLE_HANDLERS,
};

export function defaultConfigDir(): string {
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'berth');
}

function help(): string {
  const lines = ['Usage: berth [--root DIR] [--config DIR] COMMAND', '', 'Commands:'];
  const shown = COMMANDS.filter((c) => !c.hidden);
  const width = Math.max(...shown.map((c) => c.path.join(' ').length)) + 2;
  for (const c of shown) lines.push(`  ${c.path.join(' ').padEnd(width)}${c.summary}`);
  lines.push(
    '',
    'Environment:',
    '  BERTH_UNPACK_THREADS  worker threads that unpack layers (default: one per core; 0: none)',
    "  DOCKER_CONFIG         directory of docker's config.json, read for registry credentials",
  );
  return lines.join('\n');
}

export async function main(argv: string[], io: Partial<Pick<CliContext, 'stdout' | 'stderr' | 'readStdin'>> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  // What failed, for the exit status: a usage error until the command line has been read.
  const failed: FailedCommand = { usage: true };
  try {
    const { parsed: global, rest } = parseFlags(argv, GLOBAL_FLAGS, true);
    const found = findCommand(rest);
    if (!found) {
      if (rest.length === 0 || global.flags.help) {
        stdout.write(help() + '\n');
        return rest.length === 0 && !global.flags.help ? 2 : 0;
      }
      // A group's word alone (`berth volume`): its commands, as docker lists them.
      const group = COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === rest[0]);
      if (group.length) {
        stdout.write([`Usage: berth ${rest[0]} COMMAND`, '', 'Commands:', ...group.map((c) => `  ${c.path.slice(1).join(' ').padEnd(10)}${c.summary}`)].join('\n') + '\n');
        return global.flags.help || rest.includes('--help') ? 0 : 2;
      }
      // docker: an unknown command is a plain failure (1), not a usage error of a command.
      failed.usage = false;
      throw new BerthError('invalid-argument', `unknown command ${quote(rest[0]!)} (see berth --help)`, { field: rest[0] });
    }
    const { cmd, used } = found;
    failed.command = cmd.path.join(' ');
    const { parsed, rest: tail } = parseFlags(rest.slice(used), [...cmd.flags, ...GLOBAL_FLAGS], !!cmd.stopAtFirstArg);
    if (cmd.stopAtFirstArg) parsed.args.push(...tail);
    if (parsed.flags.help || global.flags.help) {
      stdout.write(usage(cmd) + '\n');
      return 0;
    }
    checkArgs(cmd, parsed.args);
    failed.usage = false;
    // Absolute from here on: bundles name their rootfs, and monitors outlive this working directory.
    const root = resolve((parsed.flags.root !== '/var/lib/berth' ? parsed.flags.root : global.flags.root) as string);
    const configDir = resolve((parsed.flags.config ?? global.flags.config ?? defaultConfigDir()) as string);
    const ctx: CliContext = { root, configDir, stdout, stderr, readStdin: io.readStdin ?? readStdinSync };
    const handler = CONTAINER_HANDLERS[cmd.path.join(' ')] ?? HANDLERS[cmd.path.join(' ')];
    return await handler!(ctx, parsed);
  } catch (err) {
    stderr.write(errorLine(err));
    return cliExitCode(err, failed);
  }
}
