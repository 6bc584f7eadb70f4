// `kill`: a signal to the container's init, or with `all` to every process in its cgroup.
import { fromSystemError } from '../oci/errors.ts';
import { signalQuietly } from '../sys/proc.ts';
import { cgroupManagerFromJSON } from './cgroups/index.ts';
import type { RuntimeContext } from './runtime-context.ts';
import { resolveSignal } from './signals.ts';
import { requireStatus } from './transitions.ts';

export async function killContainer(ctx: RuntimeContext, id: string, signal: string, all = false): Promise<void> {
  const record = ctx.store.read(id);
  requireStatus('kill', id, ctx.status(record));
  const sig = resolveSignal(signal);
  if (all) {
    for (const pid of await cgroupManagerFromJSON(record.cgroup).pids(true)) signalQuietly(pid, sig);
    return;
  }
  try {
    process.kill(record.pid, sig);
  } catch (err) {
    throw fromSystemError(err, 'kill', String(record.pid));
  }
}
