// The facts a record's status is derived from (container-record.ts): from the exit watchers when
// the service keeps them (berthd: no disk read, no process look-up for a supervised container),
// else from /proc and the monitor's exit file.
import { processAlive } from '../sys/proc.ts';
import { readExit } from '../runtime/monitor.ts';
import { viewOf, type ContainerRecord, type ContainerView, type LiveFacts, type ProcessRef } from './container-record.ts';
import type { ServiceContext } from './service-context.ts';

const alive = (p: ProcessRef | undefined): boolean => !!p && processAlive(p.pid, p.startTime || undefined);

export function liveFacts(ctx: ServiceContext, record: ContainerRecord): LiveFacts {
  if (record.exitCode !== undefined) return {};
  if (record.state === 'creating') return { creatorAlive: alive(record.creator) };
  const watched = ctx.watches.get(record.id);
  if (watched && !watched.lost) return { monitorAlive: !watched.heard, ...(watched.heard ? { exit: watched.heard } : {}) };
  // Alive first: a monitor that exits right after this look has written its exit file by then.
  const monitorAlive = record.monitor ? alive(record.monitor) : undefined;
  const initAlive = alive(record.init);
  const creatorAlive = record.foreground ? alive(record.creator) : undefined;
  const exit = readExit(ctx.records.files(record.id).exitFile);
  return {
    ...(monitorAlive !== undefined ? { monitorAlive } : {}),
    initAlive,
    ...(creatorAlive !== undefined ? { creatorAlive } : {}),
    ...(exit ? { exit } : {}),
  };
}

export function viewNow(ctx: ServiceContext, record: ContainerRecord): ContainerView {
  return viewOf(record, liveFacts(ctx, record));
}
