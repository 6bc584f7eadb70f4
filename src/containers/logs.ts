// Logs: the CRI log a container's monitor writes, read in constant memory (log-reader.ts), with
// the rotated files in order; following ends when the monitor is done (exit file, or dead).
import { quote } from '../oci/quote.ts';
import { existsSync } from 'node:fs';
import { precondition } from '../oci/errors.ts';
import type { LogLine } from '../runtime/cri-log.ts';
import { readLog, type LogReadOptions } from '../runtime/log-reader.ts';
import { viewNow } from './live-facts.ts';
import type { ServiceContext } from './service-context.ts';

export type LogOptions = Pick<LogReadOptions, 'tail' | 'since' | 'until' | 'follow'>;

export async function* containerLogs(ctx: ServiceContext, id: string, opts: LogOptions = {}): AsyncGenerator<LogLine[]> {
  const record = ctx.records.read(id);
  const file = record.logPath === null ? undefined : (record.logPath ?? ctx.records.files(id).logFile);
  if (!file || (!existsSync(file) && !existsSync(`${file}.1`))) {
    throw precondition(`container ${quote(record.name)} has no logs: only containers run with -d keep their output`, { field: 'container' });
  }
  const lostAtFirst = viewNow(ctx, record).supervision === 'lost';
  const monitorDied = (what: string): void => ctx.warn(`the monitor of container ${record.name} (pid ${record.monitor!.pid}) died: ${what}`);
  if (lostAtFirst) monitorDied('what the container wrote since then is lost');
  let lostLater = false;
  yield* readLog(file, {
    ...opts,
    rotated: (record.logLimits?.maxFiles ?? 1) - 1,
    // The monitor writes the exit file after the last log line: nothing more comes once it exists,
    // nor once the monitor is gone.
    ended: () => {
      const supervision = viewNow(ctx, record).supervision;
      lostLater ||= supervision === 'lost';
      return supervision !== 'supervised';
    },
  });
  if (lostLater && !lostAtFirst) monitorDied('what the container writes from now on is lost');
}
