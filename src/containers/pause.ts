// Pause and unpause: every process of a running container frozen (its cgroup's freezer) and
// thawed; the record says so, so that ps and inspect show it without asking the kernel.
import { quote } from '../oci/quote.ts';
import { precondition } from '../oci/errors.ts';
import type { ContainerRecord } from './container-record.ts';
import { viewNow } from './live-facts.ts';
import { saveRecord, withContainer, type ServiceContext } from './service-context.ts';
import { requireAllowed } from './transitions.ts';

export function pauseContainer(ctx: ServiceContext, id: string): Promise<ContainerRecord> {
  return withContainer(ctx, id, async (record) => {
    requireAllowed('pause', record.name, viewNow(ctx, record));
    if (record.paused) throw precondition(`container ${quote(record.name)} is already paused`, { field: 'container', op: 'pause' });
    await ctx.handler(record.runtime).pause(id);
    record.paused = true;
    saveRecord(ctx, record);
    return record;
  });
}

export function unpauseContainer(ctx: ServiceContext, id: string): Promise<ContainerRecord> {
  return withContainer(ctx, id, async (record) => {
    requireAllowed('unpause', record.name, viewNow(ctx, record));
    if (!record.paused) throw precondition(`container ${quote(record.name)} is not paused`, { field: 'container', op: 'unpause' });
    await thaw(ctx, record);
    return record;
  });
}

/** Thaws a paused container (stop: a frozen process cannot act on its stop signal). Under the lock. */
export async function thaw(ctx: ServiceContext, record: ContainerRecord): Promise<void> {
  if (!record.paused) return;
  await ctx.handler(record.runtime).resume(record.id);
  delete record.paused;
  saveRecord(ctx, record);
}
