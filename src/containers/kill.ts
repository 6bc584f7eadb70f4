// Kill: a signal to the container's init (or, with `all`, to every process in it). No lock: a kill
// must get through while a stop waits out its grace period.
import type { ServiceContext } from './service-context.ts';
import { viewNow } from './live-facts.ts';
import { requireAllowed } from './transitions.ts';

export async function killContainer(ctx: ServiceContext, id: string, signal: string, all = false): Promise<void> {
  const record = ctx.records.read(id);
  requireAllowed('kill', record.name, viewNow(ctx, record));
  await ctx.handler(record.runtime).kill(id, signal, all);
}
