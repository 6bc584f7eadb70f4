// Exits are events, never polled: the monitor announces the exit on the channel its creator keeps,
// and on its attach socket to whoever asks (after a restart, berthd asks every live monitor). The
// exit file, written before either, is the record that survives everyone: a watch that ends
// without a word reads it. Once known, the exit goes into the container's record with its reason.
import { formatLogTime } from '../runtime/cri-log.ts';
import { withTimeout } from '../runtime/create.ts';
import { watchExit } from '../runtime/attach-client.ts';
import { readExit, type ExitWatch, type MonitorExit } from '../runtime/monitor.ts';
import { processAlive, untilGone } from '../sys/proc.ts';
import { exitReason, type ContainerRecord } from './container-record.ts';
import { saveRecord, withContainer, type ServiceContext, type WatchedExit } from './service-context.ts';

export type KnownExit = MonitorExit | { status: number; time?: bigint };

/** Watches a monitored container's exit (with the creator's watch, else through its attach socket). */
export function watchContainer(ctx: ServiceContext, record: ContainerRecord, watch?: ExitWatch): WatchedExit {
  const known = ctx.watches.get(record.id);
  if (known) return known;
  const w = watch ?? watchExit(ctx.records.files(record.id).attachSocket);
  const entry: WatchedExit = {
    watch: w,
    settled: w.exit.then((heard) => {
      // Said nothing: the monitor is gone; if it ended normally, its exit file says how.
      const exit = heard ?? readExit(ctx.records.files(record.id).exitFile);
      if (exit) entry.heard = exit;
      else entry.lost = true;
      if (exit) void keepExit(ctx, record.id, exit);
      return exit;
    }),
  };
  ctx.watches.set(record.id, entry);
  return entry;
}

/** Stops watching (the container is removed, or the service closes). */
export function unwatch(ctx: ServiceContext, id: string): void {
  ctx.watches.get(id)?.watch.release();
  ctx.watches.delete(id);
}

/** The container's exit, waiting at most `timeoutMs` for it; undefined if it has not ended (or nobody can tell). */
export async function awaitExit(ctx: ServiceContext, record: ContainerRecord, timeoutMs: number): Promise<KnownExit | undefined> {
  if (record.exitCode !== undefined) return { status: record.exitCode };
  const exitFile = ctx.records.files(record.id).exitFile;
  const watched = ctx.watches.get(record.id);
  if (watched?.heard) return watched.heard;
  if (record.monitor && (watched ? !watched.lost : processAlive(record.monitor.pid, record.monitor.startTime || undefined))) {
    return withTimeout(watchContainer(ctx, record).settled, timeoutMs, undefined);
  }
  // Nobody will say: a foreground container's creator, or one whose monitor died. Watch the init.
  if (record.init) await untilGone(record.init.pid, record.init.startTime || undefined, timeoutMs);
  return readExit(exitFile);
}

/** Puts the exit into the record (once) with its reason; announces it. Under the container's lock. */
export async function recordExit(ctx: ServiceContext, record: ContainerRecord, exit: KnownExit): Promise<void> {
  if (record.exitCode !== undefined) return;
  const oom = await ctx.handler(record.runtime).oomKilled(record.id).catch(() => false);
  record.state = 'stopped';
  record.exitCode = exit.status;
  record.finished = formatLogTime(exit.time ?? BigInt(Date.now()) * 1_000_000n);
  record.reason = exitReason(exit.status, oom);
  delete record.creator;
  saveRecord(ctx, record);
  ctx.events.emit('exited', record);
}

/** An exit heard by a watch: recorded once the container's lock is free (not if it was removed). */
export async function keepExit(ctx: ServiceContext, id: string, exit: KnownExit): Promise<void> {
  try {
    if (!ctx.records.tryRead(id)) return; // removed: nothing to record
    await withContainer(ctx, id, (record) => recordExit(ctx, record, exit));
  } catch {
    // removed meanwhile: nothing to record
  }
}
