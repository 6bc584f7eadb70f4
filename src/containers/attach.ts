// Attach: the container's output to the caller, the caller's input to the container, through its
// monitor's attach socket; and the control requests on the same socket (reopen the log).
import { quote } from '../oci/quote.ts';
import { existsSync } from 'node:fs';
import { precondition } from '../oci/errors.ts';
import { attach, reopenLog, type AttachStreams } from '../runtime/attach-client.ts';
import type { ContainerRecord } from './container-record.ts';
import { awaitExit, type KnownExit } from './exit-watch.ts';
import { containerProcess } from './exec.ts';
import { viewNow } from './live-facts.ts';
import type { ServiceContext } from './service-context.ts';

function attachSocketOf(ctx: ServiceContext, record: ContainerRecord, what: string): string {
  const socket = ctx.records.files(record.id).attachSocket;
  if (!record.monitor || !existsSync(socket)) throw precondition(`container ${quote(record.name)} cannot ${what}: it is not running in the background (run -d)`, { field: 'container' });
  if (viewNow(ctx, record).supervision === 'lost') {
    throw precondition(`container ${quote(record.name)} cannot ${what}: its monitor (pid ${record.monitor.pid}) died; stop or remove it`, { field: 'container' });
  }
  return socket;
}

/**
 * Relays until the container ends (its exit is returned) or the caller detaches (ctrl-p ctrl-q on
 * a terminal; undefined then, unless it ended meanwhile).
 */
export async function attachContainer(ctx: ServiceContext, id: string, streams: Omit<AttachStreams, 'tty'>): Promise<KnownExit | undefined> {
  const record = ctx.records.read(id);
  const socket = attachSocketOf(ctx, record, 'be attached');
  await attach(socket, { ...streams, tty: !!containerProcess(ctx, id)?.terminal });
  return awaitExit(ctx, record, 1000);
}

/** The monitor closes its log and opens the path again (CRI ReopenContainerLog). */
export async function reopenContainerLog(ctx: ServiceContext, id: string): Promise<void> {
  const record = ctx.records.read(id);
  await reopenLog(attachSocketOf(ctx, record, 'reopen its log'));
}
