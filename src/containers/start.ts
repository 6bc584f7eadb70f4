// Start: a created container's init goes on to execve (the runtime's start).
import { formatLogTime } from '../runtime/cri-log.ts';
import type { ContainerRecord } from './container-record.ts';
import { viewNow } from './live-facts.ts';
import { saveRecord, withContainer, type ServiceContext } from './service-context.ts';
import { requireAllowed } from './transitions.ts';

export function startContainer(ctx: ServiceContext, id: string): Promise<ContainerRecord> {
  return withContainer(ctx, id, async (record) => {
    requireAllowed('start', record.name, viewNow(ctx, record));
    await ctx.handler(record.runtime).start(id);
    record.state = 'running';
    record.started = formatLogTime(BigInt(Date.now()) * 1_000_000n);
    saveRecord(ctx, record);
    ctx.events.emit('started', record);
    return record;
  });
}
