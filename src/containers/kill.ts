// Kill: a signal to the container's init (or, with `all`, to every process in it). No lock: a kill
// must get through while a stop waits out its grace period.
import type { ServiceContext } from './service-context.ts';
import { viewNow } from './live-facts.ts';
import { requireAllowed } from './transitions.ts';
import { resolveSignal } from '../runtime/signals.ts';
import { markStoppedByUser } from './restart.ts';

export async function killContainer(ctx: ServiceContext, id: string, signal: string, all = false): Promise<void> {
  const record = ctx.records.read(id);
  requireAllowed('kill', record.name, viewNow(ctx, record));
  // As docker: SIGKILL or the stop signal is the user ending it, and its restart policy agrees.
  const n = resolveSignal(signal);
  if (record.restartPolicy && (n === resolveSignal('SIGKILL') || n === resolveSignal(record.stopSignal ?? 'SIGTERM'))) markStoppedByUser(ctx, id);
  await ctx.handler(record.runtime).kill(id, signal, all);
}
