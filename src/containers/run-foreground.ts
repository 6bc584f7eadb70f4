// A container in the foreground of its creator (`berth run` without -d): berth-spawn waits for it
// with the caller's stdio, no monitor. The record stays (`ps -a` shows how it ended) unless
// `remove`; the exit code is kept in the exit file as a monitor would have written it.
import { writeFileSync } from 'node:fs';
import { PRIVATE_FILE_MODE } from '../image/store-permissions.ts';
import { formatLogTime } from '../runtime/cri-log.ts';
import type { SignalSource } from '../runtime/signals.ts';
import { exitReason } from './container-record.ts';
import { prepareContainer, type CreateRequest } from './create.ts';
import { removeContainer } from './remove.ts';
import { saveRecord, withContainer, type ServiceContext } from './service-context.ts';

export interface ForegroundOptions {
  /** The container reads the caller's stdin (else /dev/null). */
  stdin?: boolean;
  /** The caller's signals, passed on to the container. */
  signals?: SignalSource;
  /** Nothing of the container stays once it has exited. */
  remove?: boolean;
}

/** Runs the container to its end; its exit status. */
export async function runForeground(ctx: ServiceContext, req: CreateRequest, opts: ForegroundOptions = {}): Promise<number> {
  const { record, lock, undo, onUndo, step } = await prepareContainer(ctx, req, { foreground: true });
  const files = ctx.records.files(record.id);
  const handler = ctx.handler(req.runtime);
  let code: number;
  try {
    step('runtime');
    onUndo(async () => {
      if (await handler.exists(record.id)) await handler.delete(record.id, true);
    });
    record.state = 'running';
    record.started = formatLogTime(BigInt(Date.now()) * 1_000_000n);
    saveRecord(ctx, record);
    // The lock is not held while it runs: `ps`, `exec` and `stop` act on it meanwhile.
    lock.release();
    code = await handler.run(record.id, files.dir, { stdin: opts.stdin ? 'inherit' : 'none', keep: !opts.remove, signals: opts.signals });
  } catch (err) {
    await undo();
    throw err;
  } finally {
    lock.release();
  }
  if (opts.remove) {
    await removeContainer(ctx, record.id, { force: true, ifExists: true });
    return code;
  }
  await withContainer(ctx, record.id, async (kept) => {
    writeFileSync(files.exitFile, String(code), { mode: PRIVATE_FILE_MODE });
    const oom = await handler.oomKilled(kept.id).catch(() => false);
    Object.assign(kept, { state: 'stopped', exitCode: code, finished: formatLogTime(BigInt(Date.now()) * 1_000_000n), reason: exitReason(code, oom) });
    delete kept.creator;
    saveRecord(ctx, kept);
  }).catch(() => undefined); // removed while it ran (rm -f): nothing to keep
  return code;
}
