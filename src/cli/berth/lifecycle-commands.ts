// `berth kill`, `wait`, `pause`, `unpause` and `rename`: the command line over the container
// service. `inspect`: inspect-command.ts; restart policies: restart-command.ts.
import { resolveSignal } from '../../runtime/signals.ts';
import { processAlive, untilGone } from '../../sys/proc.ts';
import { str, type Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';
import { withService } from './container-records.ts';
import { eachContainer } from './each-container.ts';
import type { ContainerService } from '../../containers/index.ts';
import { onExitCommand } from './restart-command.ts';

export async function killCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const signal = str(p.flags.signal) ?? 'SIGKILL';
  resolveSignal(signal); // a bad name fails before any container is signalled
  return eachContainer(ctx, p, (service, id) => service.kill(id, signal));
}

/** Starts a created container, or one that ran with -d and ended, again: the exit command its policy needs. */
async function startOne(ctx: CliContext, service: ContainerService, id: string): Promise<void> {
  const { status, restartPolicy } = service.inspect(id);
  // As docker's: starting one that runs (or is about to again) is done already.
  if (status === 'running' || status === 'restarting') return;
  if (status === 'created') await service.start(id);
  else await service.startAgain(id, restartPolicy && restartPolicy.name !== 'no' ? onExitCommand(ctx, id) : undefined);
}

export const startCommand = (ctx: CliContext, p: Parsed): Promise<number> => eachContainer(ctx, p, (service, id) => startOne(ctx, service, id));

export async function restartCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const grace = typeof p.flags.time === 'string' ? Number(p.flags.time) : 10;
  return eachContainer(ctx, p, async (service, id) => {
    await service.stop(id, { timeout: grace });
    await service.wait(id, (grace + 30) * 1000);
    await startOne(ctx, service, id);
  });
}

export const pauseCommand = (ctx: CliContext, p: Parsed): Promise<number> => eachContainer(ctx, p, (service, id) => service.pause(id));
export const unpauseCommand = (ctx: CliContext, p: Parsed): Promise<number> => eachContainer(ctx, p, (service, id) => service.unpause(id));

export async function renameCommand(ctx: CliContext, p: Parsed): Promise<number> {
  return withService(ctx, {}, async (service) => {
    await service.rename(service.resolve(p.args[0]!), p.args[1]!);
    return 0;
  });
}

/** How long one wait for an exit lasts before it looks again (a timer cannot wait forever). */
const WAIT_SLICE_MS = 3_600_000;

/**
 * Blocks until each container has stopped; prints their exit codes, one a line, in order. As
 * docker's: a container waiting to be restarted by its policy counts as running, and every exit
 * ends the wait, a restart policy's too.
 */
export async function waitCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const ids = await withService(ctx, {}, async (service) => p.args.map((key) => service.resolve(key)));
  for (const id of ids) ctx.stdout.write(`${await exitOf(ctx, id)}\n`);
  return 0;
}

async function exitOf(ctx: CliContext, id: string): Promise<number> {
  for (;;) {
    // A service per look: one that heard an earlier run's exit would answer with it again.
    const seen = await withService(ctx, {}, async (service) => {
      const record = service.record(id);
      // (A policy whose process died between two runs will not restart it: its last exit stands.)
      const m = record.monitor;
      if (record.restarting && m && processAlive(m.pid, m.startTime || undefined)) return { restartingUnder: m };
      if (record.exitCode !== undefined) return { status: record.exitCode };
      return { status: (await service.wait(id, WAIT_SLICE_MS))?.status };
    });
    if (seen.status !== undefined) return seen.status;
    // Between two runs the policy waits under the last run's monitor, which ends once the next run is up.
    if ('restartingUnder' in seen && seen.restartingUnder) await untilGone(seen.restartingUnder.pid, seen.restartingUnder.startTime || undefined, WAIT_SLICE_MS);
  }
}
