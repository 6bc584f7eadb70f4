// Restart policies carried out without a daemon. When a container with a policy ends, its monitor
// (native/monitor.c, which holds no policy) runs its exit command: `berth on-exit ID`, which calls
// `restartAfterExit` here. That decides (restart-policy.ts), records `restarting`, waits out the
// delay without holding the container's lock, then creates the container's process again under a
// new monitor, from the same bundle and rootfs, with the same exit command. A user's stop, a kill
// with SIGKILL or the stop signal, and rm -f all win over a pending restart: stop and kill leave a
// marker file first (no lock needed: a kill must not wait), rm removes the record.
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../oci/runtime-spec.ts';
import { formatLogTime, parseLogTime } from '../runtime/cri-log.ts';
import { readExit, type MonitorExit } from '../runtime/monitor.ts';
import { readProcStat } from '../sys/proc.ts';
import type { ContainerRecord } from './container-record.ts';
import { recordExit } from './exit-watch.ts';
import { monitorSettings } from './monitor-settings.ts';
import { decideRestart } from './restart-policy.ts';
import { saveRecord, withContainer, type ServiceContext } from './service-context.ts';
import { requireAllowed } from './transitions.ts';
import { viewNow } from './live-facts.ts';
import { precondition } from '../oci/errors.ts';
import { quote } from '../oci/quote.ts';

export type RestartOutcome = 'restarted' | 'stopped' | 'gone';

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
const markerOf = (ctx: ServiceContext, id: string): string => join(ctx.records.files(id).dir, 'stopped-by-user');

/** The user stopped the container: its policy must not restart it (stop, kill). */
export function markStoppedByUser(ctx: ServiceContext, id: string): void {
  try {
    writeFileSync(markerOf(ctx, id), '', { mode: 0o600 });
  } catch {
    // removed meanwhile: nothing will restart it
  }
}

/** A pending restart is called off (a stop during the delay): the last exit stands. Under the lock. */
export function cancelRestart(ctx: ServiceContext, record: ContainerRecord): void {
  if (!record.restarting) return;
  delete record.restarting;
  record.state = 'stopped';
  saveRecord(ctx, record);
}

/**
 * After the container's monitor reported its end: restarts the container if its policy says so.
 * `sleep` is the wait between the exit and the restart (a test seam); `exitCommand` is the new
 * monitor's, the one that called this.
 */
export async function restartAfterExit(ctx: ServiceContext, id: string, exitCommand: string[], sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<RestartOutcome> {
  const files = ctx.records.files(id);
  const pending = await ifExists(
    withContainer(ctx, id, async (record) => {
      const exit = readExit(files.exitFile);
      if (!exit || record.restarting) return undefined;
      const started = record.started ? parseLogTime(record.started) : undefined;
      const decision = decideRestart(record.restartPolicy ?? { name: 'no', maximumRetryCount: 0 }, {
        status: exit.status,
        ranMs: started !== undefined ? Number((exit.time - started) / 1_000_000n) : 0,
        restartCount: record.restartCount ?? 0,
        lastDelayMs: record.restartDelayMs ?? 0,
        stoppedByUser: existsSync(markerOf(ctx, id)),
      });
      if (decision.restart) {
        record.restarting = { since: formatLogTime(nowNs()), delayMs: decision.delayMs };
        record.restartDelayMs = decision.delayMs;
      }
      // One write: a reader sees the exit and the restart to come together.
      if (record.exitCode === undefined) await recordExit(ctx, record, exit);
      else saveRecord(ctx, record);
      return decision.restart ? { delayMs: decision.delayMs, exit } : undefined;
    }),
  );
  if (!pending) return pending === null ? 'gone' : 'stopped';
  await sleep(pending.delayMs);
  const outcome = await ifExists(
    withContainer(ctx, id, async (record): Promise<RestartOutcome> => {
      if (!record.restarting) return 'stopped'; // stopped meanwhile
      if (existsSync(markerOf(ctx, id))) {
        cancelRestart(ctx, record);
        return 'stopped';
      }
      try {
        await runAgain(ctx, record, exitCommand);
        return 'restarted';
      } catch (err) {
        giveUp(ctx, record, pending.exit, err);
        return 'stopped';
      }
    }),
  );
  return outcome ?? 'gone';
}

/**
 * `berth start` of a container that ran in the background and ended: its process again under a
 * new monitor, as a restart does. As docker's start, its restart policy applies again (a user's
 * earlier stop no longer holds it back) and its restart count starts over.
 */
export function startAgain(ctx: ServiceContext, id: string, exitCommand: string[] | undefined): Promise<ContainerRecord> {
  return withContainer(ctx, id, async (record) => {
    requireAllowed('start-again', record.name, viewNow(ctx, record));
    if (record.foreground) throw precondition(`container ${quote(record.name)} ran in the foreground: berth start runs again only containers run with -d`, { field: 'container', op: 'start' });
    rmSync(markerOf(ctx, id), { force: true });
    delete record.restarting;
    await runAgain(ctx, record, exitCommand, { restartCount: 0 });
    return record;
  });
}

/** The container's process once more, under a new monitor, from its bundle; started. */
async function runAgain(ctx: ServiceContext, record: ContainerRecord, exitCommand: string[] | undefined, opts: { restartCount?: number } = {}): Promise<void> {
  const files = ctx.records.files(record.id);
  const handler = ctx.handler(record.runtime);
  if (await handler.exists(record.id)) await handler.delete(record.id, true);
  rmSync(files.exitFile, { force: true });
  const spec = JSON.parse(readFileSync(files.config, 'utf8')) as Spec;
  const monitored = await handler.createMonitored({
    id: record.id,
    bundle: files.dir,
    spec,
    pidFile: files.pidFile,
    monitor: monitorSettings(files, { logPath: record.logPath, logLimits: record.logLimits, stdinOpen: record.stdinOpen, exitKill: record.monitor?.bound ?? true, exitCommand }),
  });
  try {
    await handler.start(record.id);
  } catch (err) {
    monitored.watch.release();
    await handler.delete(record.id, true).catch(() => undefined);
    throw err;
  }
  monitored.watch.release();
  record.state = 'running';
  record.init = { pid: monitored.pid, startTime: readProcStat(monitored.pid)?.startTime ?? 0 };
  record.monitor = monitored.monitor;
  record.started = formatLogTime(nowNs());
  record.restartCount = opts.restartCount ?? (record.restartCount ?? 0) + 1;
  delete record.restarting;
  delete record.exitCode;
  delete record.finished;
  delete record.reason;
  delete record.paused;
  saveRecord(ctx, record);
  ctx.events.emit('started', record);
}

/** The restart failed: the last exit stands, and the container's log says why (nobody else would see it). */
function giveUp(ctx: ServiceContext, record: ContainerRecord, exit: MonitorExit, err: unknown): void {
  delete record.restarting;
  record.state = 'stopped';
  record.exitCode = exit.status;
  saveRecord(ctx, record);
  const log = record.logPath === null ? undefined : (record.logPath ?? ctx.records.files(record.id).logFile);
  const why = (err instanceof Error ? err.message : String(err)).replace(/\n/g, ' ');
  if (log) appendFileSync(log, `${formatLogTime(nowNs())} stderr F berth: restart failed: ${why}\n`);
  ctx.warn(`container ${record.name}: restart failed: ${why}`);
}

/** The operation's result, or null when the container was removed meanwhile. */
async function ifExists<T>(op: Promise<T>): Promise<T | null> {
  try {
    return await op;
  } catch (err) {
    if ((err as { kind?: string }).kind === 'not-found') return null;
    throw err;
  }
}
