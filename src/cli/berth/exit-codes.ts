// The exit status of `berth` when a command fails, as docker's CLI has it (berth-runtime keeps
// runc's codes and berthd its own: only this developer CLI follows docker). docker run and exec
// follow chroot's convention: 125 when docker itself fails, 126 when the command was found but
// cannot be invoked, 127 when it cannot be found, else the command's own status (which is not an
// error and does not come here). A bad flag or argument is 125 for every command; any other
// failure of any other command is 1.
import { BerthError } from '../../oci/errors.ts';

export const EXIT_BERTH_FAILED = 125;
export const EXIT_CANNOT_INVOKE = 126;
export const EXIT_NOT_FOUND = 127;

/** Plan operations that find and start the container's program (or an exec's). */
const INVOKE_OPS = new Set(['resolve-exec', 'execve']);

export interface FailedCommand {
  /** The command's words (`run`, `network rm`); undefined when none was recognised. */
  command?: string;
  /** The command line itself was wrong: an unknown flag, a missing or extra argument. */
  usage: boolean;
}

/** Whether starting the program itself failed: 126 or 127 as docker says, else undefined. */
export function invocationExitCode(err: unknown): number | undefined {
  if (!(err instanceof BerthError) || !INVOKE_OPS.has(err.where.op ?? '')) return undefined;
  return err.where.errno === 'ENOENT' || err.where.errno === 'ENOTDIR' ? EXIT_NOT_FOUND : EXIT_CANNOT_INVOKE;
}

export function cliExitCode(err: unknown, failed: FailedCommand): number {
  if (failed.usage) return EXIT_BERTH_FAILED;
  if (failed.command === 'run' || failed.command === 'exec') {
    const invoke = invocationExitCode(err);
    if (invoke !== undefined) return invoke;
  }
  return failed.command === 'run' ? EXIT_BERTH_FAILED : 1;
}
