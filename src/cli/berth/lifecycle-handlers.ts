// Which function runs each command of lifecycle-specs.ts.
import type { Parsed } from './args.ts';
import { copyCommand } from './copy-command.ts';
import type { CliContext } from './image-commands.ts';
import { killCommand, pauseCommand, renameCommand, restartCommand, startCommand, unpauseCommand, waitCommand } from './lifecycle-commands.ts';
import { inspectCommand } from './inspect-command.ts';
import { onExitCommandHandler } from './restart-command.ts';

export const LIFECYCLE_HANDLERS: Record<string, (ctx: CliContext, p: Parsed) => Promise<number>> = {
  kill: killCommand,
  start: startCommand,
  restart: restartCommand,
  wait: waitCommand,
  pause: pauseCommand,
  unpause: unpauseCommand,
  rename: renameCommand,
  inspect: inspectCommand,
  'on-exit': onExitCommandHandler,
  cp: copyCommand,
};
