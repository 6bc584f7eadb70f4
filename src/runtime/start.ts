// `start`: the state goes into the exec fifo, init reads it and goes on to execve; start returns
// once init has exec'd (or died), as runc's does. Then the poststart hooks.
import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { fromSystemError, precondition } from '../oci/errors.ts';
import { signalQuietly, untilGone } from '../sys/proc.ts';
import { runHook } from './hooks.ts';
import type { RuntimeContext } from './runtime-context.ts';
import { startMessage } from './state-output.ts';
import { requireStatus } from './transitions.ts';

export async function startContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const record = ctx.store.read(id);
  requireStatus('start', id, ctx.status(record));
  const fifo = ctx.store.fifoPath(id);
  const msg = startMessage(ctx.ociState(record, 'created'));
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') throw precondition(`cannot start container "${id}": its init process is gone`, { op: 'start', path: fifo });
    throw fromSystemError(err, 'open', fifo);
  }
  try {
    let off = 0;
    while (off < msg.length) {
      try {
        off += writeSync(fd, msg, off);
      } catch (err) {
        // A pipe holds 64 KiB; a state larger than what is free waits for init to read.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw fromSystemError(err, 'write', fifo);
        await delay(1);
      }
    }
  } finally {
    closeSync(fd);
  }
  await initExeced(fifo);
  try {
    unlinkSync(fifo);
  } catch {
    // already gone
  }
  // runtime-spec: a failing poststart hook is an error that stops the container (runc too).
  const running = ctx.ociState(record, 'running');
  for (const [i, h] of (record.config.hooks?.poststart ?? []).entries()) {
    try {
      await runHook(h, running, `hooks.poststart[${i}]`);
    } catch (err) {
      signalQuietly(record.pid, 'SIGKILL');
      await untilGone(record.pid, record.pidStartTime, 5000);
      throw err;
    }
  }
}

/**
 * Returns once init has read the start message and exec'd (or died), as runc's start does: init
 * holds the fifo open, close-on-exec, until then, and without a reader opening it fails (ENXIO).
 */
async function initExeced(fifo: string): Promise<void> {
  for (;;) {
    let fd: number;
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch {
      return;
    }
    closeSync(fd);
    await delay(1);
  }
}
