// Stop: the stop signal (SIGTERM unless the image or request named another) to the container's
// init, then, after the grace period, SIGKILL to every process in it; done when its exit is
// known. Stopping a container that has stopped is done already.
import { BerthError } from '../oci/errors.ts';
import type { ContainerRecord } from './container-record.ts';
import { awaitExit, recordExit } from './exit-watch.ts';
import { viewNow } from './live-facts.ts';
import { withContainer, type ServiceContext } from './service-context.ts';
import { requireAllowed } from './transitions.ts';
import { cancelRestart, markStoppedByUser } from './restart.ts';
import { thaw } from './pause.ts';

export interface StopOptions {
  /** Seconds between the stop signal and SIGKILL (default 10). */
  timeout?: number;
}

/** How long a SIGKILLed container may take to be reaped and recorded. */
const KILL_WAIT_MS = 10_000;

export function stopContainer(ctx: ServiceContext, id: string, opts: StopOptions = {}): Promise<ContainerRecord> {
  return withContainer(ctx, id, async (record) => {
    const view = viewNow(ctx, record);
    requireAllowed('stop', record.name, view);
    // Its restart policy must not undo the stop: neither a restart pending nor one after this exit.
    if (record.restartPolicy) markStoppedByUser(ctx, id);
    if (view.status === 'restarting') {
      cancelRestart(ctx, record);
      return record;
    }
    const handler = ctx.handler(record.runtime);
    if ((view.status === 'running' || view.status === 'created') && (await handler.exists(id))) {
      if (view.supervision === 'lost') {
        ctx.warn(`the monitor of container ${record.name} (pid ${record.monitor!.pid}) died: stopping the container anyway; its exit status will not be known`);
      }
      const graceMs = (opts.timeout ?? 10) * 1000;
      await signalUnlessGone(handler.kill(id, record.stopSignal ?? 'SIGTERM'));
      // A frozen process acts on its signal once thawed (as docker's stop of a paused container).
      await thaw(ctx, record).catch(() => undefined);
      let exit = await awaitExit(ctx, record, graceMs);
      if (!exit && (await handler.status(id).catch(() => 'stopped')) !== 'stopped') {
        await signalUnlessGone(handler.kill(id, 'SIGKILL', true));
        exit = await awaitExit(ctx, record, KILL_WAIT_MS);
      }
      if (exit) await recordExit(ctx, record, exit);
    } else if (view.exitCode !== undefined) {
      await recordExit(ctx, record, { status: view.exitCode });
    }
    return record;
  });
}

/** A container that exits as it is signalled is stopped, not an error. */
async function signalUnlessGone(kill: Promise<void>): Promise<void> {
  try {
    await kill;
  } catch (err) {
    if (!(err instanceof BerthError) || (err.kind !== 'failed-precondition' && err.kind !== 'not-found' && err.where.errno !== 'ESRCH')) throw err;
  }
}
