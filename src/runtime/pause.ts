// `pause` and `resume`: the container's cgroup frozen and thawed.
import { cgroupManagerFromJSON } from './cgroups/index.ts';
import type { RuntimeContext } from './runtime-context.ts';
import { requireStatus } from './transitions.ts';

export async function pauseContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const record = ctx.store.read(id);
  requireStatus('pause', id, ctx.status(record));
  await cgroupManagerFromJSON(record.cgroup).freeze();
  record.paused = true;
  ctx.store.write(record);
}

export async function resumeContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const record = ctx.store.read(id);
  requireStatus('resume', id, ctx.status(record));
  await cgroupManagerFromJSON(record.cgroup).thaw();
  record.paused = false;
  ctx.store.write(record);
}
