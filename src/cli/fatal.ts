// The last line of defence of a CLI process: an error that escaped main() (a rejected promise
// nobody awaited, a throw in a callback) is a bug, but the user still gets one line, not a stack
// trace, and a non-zero exit. BERTH_DEBUG=1 prints the stack as well.
import { BerthError, exitCodeOf } from '../oci/errors.ts';

export function installFatalHandlers(program: string, exitCode: (err: unknown) => number = exitCodeOf): void {
  const fatal = (err: unknown): void => {
    const text = err instanceof BerthError ? err.describe() : err instanceof Error ? err.message : String(err);
    process.stderr.write(`${program}: internal error: ${text.replace(/\n/g, ' ')}\n`);
    if (process.env.BERTH_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(exitCode(err) || 1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  // Output into a closed pipe (`berth logs c | head`) ends the program the way SIGPIPE would.
  // Attached when the stream is first used: making process.stdout costs ~1 ms, and most
  // berth-runtime commands print nothing.
  for (const name of ['stdout', 'stderr'] as const) {
    onFirstUse(name, (stream) =>
      stream.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(128 + 13);
        fatal(err);
      }),
    );
  }
}

/** Runs `use` on process[name] when something first reads it (Node makes the stream then). */
function onFirstUse(name: 'stdout' | 'stderr', use: (stream: NodeJS.WriteStream) => void): void {
  const original = Object.getOwnPropertyDescriptor(process, name);
  if (!original?.get || !original.configurable) {
    use(process[name]);
    return;
  }
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: original.enumerable,
    get() {
      const stream = original.get!.call(process) as NodeJS.WriteStream;
      Object.defineProperty(process, name, { configurable: true, enumerable: original.enumerable, get: original.get });
      use(stream);
      return stream;
    },
  });
}
