// `run`: create + start; in the foreground, with the caller's stdio (a terminal relayed to it when
// the container has one and no console socket was given, as runc does), waiting for the exit.
import { startConsoleRelay, type ConsoleRelay } from '../sys/console-relay.ts';
import { loadBundle, specBundle } from './bundle.ts';
import { createContainer, withTimeout, type ContainerHandle, type CreateOptions } from './create.ts';
import { deleteContainer } from './delete.ts';
import type { RuntimeContext } from './runtime-context.ts';
import type { SignalSource } from './signals.ts';
import { startContainer } from './start.ts';

export interface RunOptions {
  detach?: boolean;
  /** The state stays after the container exits (`run --keep`). */
  keep?: boolean;
  /** The caller's signals to pass on to the container while it runs in the foreground. */
  signals?: SignalSource;
}

/** The container's exit status (0 at once with `detach`). */
export async function runContainer(ctx: RuntimeContext, options: CreateOptions, opts: RunOptions = {}): Promise<number> {
  const loaded = options.spec ? specBundle(options.bundle, options.spec) : loadBundle(options.bundle);
  let relay: ConsoleRelay | undefined;
  if (!options.consoleSocket && !opts.detach && loaded.spec.process?.terminal) {
    relay = await startConsoleRelay({ stdin: options.stdin !== 'none' });
    options = { ...options, consoleSocket: relay.socketPath };
  }
  let handle: ContainerHandle;
  try {
    handle = await createContainer(ctx, { ...options, wait: !opts.detach }, loaded);
  } catch (err) {
    relay?.close();
    throw err;
  }
  if (opts.detach) {
    await startContainer(ctx, options.id);
    return 0;
  }
  const unsubscribe = opts.signals?.((sig) => handle.kill(sig));
  try {
    const exited = handle.wait();
    await startContainer(ctx, options.id);
    const code = (await exited)?.status ?? 255;
    if (relay) await withTimeout(relay.done, 2000, undefined);
    return code;
  } finally {
    unsubscribe?.();
    relay?.close();
    handle.release();
    if (!opts.keep) await deleteContainer(ctx, options.id, true);
  }
}
