// The last line of defence of a CLI process: an error that escaped main() (a rejected promise
// nobody awaited, a throw in a callback) is a bug, but the user still gets one line, not a stack
// trace, and a non-zero exit. BERTH_DEBUG=1 prints the stack as well.
import { BerthError, exitCodeOf } from '../oci/errors.ts';

export function installFatalHandlers(program: string): void {
  const fatal = (err: unknown): void => {
    const text = err instanceof BerthError ? err.describe() : err instanceof Error ? err.message : String(err);
    process.stderr.write(`${program}: internal error: ${text.replace(/\n/g, ' ')}\n`);
    if (process.env.BERTH_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(exitCodeOf(err) || 1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  // Output into a closed pipe (`berth logs c | head`) ends the program the way SIGPIPE would.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(128 + 13);
      fatal(err);
    });
  }
}
