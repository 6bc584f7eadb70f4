// Exec: another process in a running container, through its runtime. The process is the caller's
// to build (berth from docker's flags, berthd from the CRI request) from the container's own.
import { readFileSync } from 'node:fs';
import type { Process, Spec } from '../oci/runtime-spec.ts';
import type { HandlerExecOptions } from '../runtime/runtime-handler.ts';
import { viewNow } from './live-facts.ts';
import type { ServiceContext } from './service-context.ts';
import { requireAllowed } from './transitions.ts';

/** The container's own process (from its config.json), the base an exec starts from. */
export function containerProcess(ctx: ServiceContext, id: string): Process | undefined {
  return (JSON.parse(readFileSync(ctx.records.files(id).config, 'utf8')) as Spec).process;
}

/** Runs the process; its exit status (0 at once with `detach`). */
export async function execInContainer(ctx: ServiceContext, id: string, process: Process, opts: HandlerExecOptions = {}): Promise<number> {
  const record = ctx.records.read(id);
  const view = viewNow(ctx, record);
  requireAllowed('exec', record.name, view);
  // It works, with the caller's stdio rather than the monitor's; but the container is adrift.
  if (view.supervision === 'lost') ctx.warn(`the monitor of container ${record.name} (pid ${record.monitor!.pid}) died: the container runs unsupervised (stop or remove it)`);
  return ctx.handler(record.runtime).exec(id, process, opts);
}
