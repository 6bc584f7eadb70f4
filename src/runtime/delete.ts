// `delete`: the container's processes killed (with --force, or when not running), its cgroups and
// the mounts it made without a mount namespace removed, the poststop hooks run, the state gone.
import { BerthError } from '../oci/errors.ts';
import { signalQuietly, untilGone } from '../sys/proc.ts';
import { cgroupManagerFromJSON } from './cgroups/index.ts';
import { runPoststopHooks } from './hooks.ts';
import type { RuntimeContext } from './runtime-context.ts';
import type { ContainerRecord } from './state-store.ts';
import { requireStatus } from './transitions.ts';
import { unmountBelow } from './unmount-below.ts';

export async function deleteContainer(ctx: RuntimeContext, id: string, force = false): Promise<void> {
  let record: ContainerRecord;
  try {
    record = ctx.store.read(id);
  } catch (err) {
    if (force && err instanceof BerthError && err.kind === 'not-found') return;
    throw err;
  }
  const status = ctx.status(record);
  requireStatus('delete', id, status, force);
  const cgroups = record.cgroup ? cgroupManagerFromJSON(record.cgroup) : null;
  if (status !== 'stopped') {
    signalQuietly(record.pid, 'SIGKILL');
    // A frozen process only dies once thawed.
    if (status === 'paused') await cgroups?.thaw().catch(() => {});
    if (!(await untilGone(record.pid, record.pidStartTime, 5000))) throw new BerthError('internal', `process ${record.pid} did not exit after SIGKILL`, { op: 'kill' });
  }
  if (cgroups) {
    // Without a pid namespace, processes may outlive init: the cgroup knows them all.
    for (const pid of await cgroups.pids(true).catch(() => [])) signalQuietly(pid, 'SIGKILL');
    await cgroups.destroy();
  }
  if (record.hostMountsBefore) await unmountBelow(record.rootfs, record.hostMountsBefore);
  await runPoststopHooks(ctx, record);
  ctx.store.remove(id);
}
