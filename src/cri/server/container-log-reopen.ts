// ReopenContainerLog: the kubelet has renamed the log file; the container's monitor closes it and
// opens the path again, so the new file receives the output from now on. Only while it runs.
import { precondition } from '../../oci/errors.ts';
import type { CriContext } from './cri-context.ts';
import { criContainer, lifeOf } from './container-life.ts';
import type { UnaryRpc } from './rpc.ts';

export function reopenContainerLog(ctx: CriContext): UnaryRpc {
  return async (req: { container_id?: string }) => {
    const c = criContainer(ctx, req.container_id);
    if (lifeOf(ctx, c.id).state !== 'CONTAINER_RUNNING') throw precondition(`container ${c.id} is not running: its log cannot be reopened`, { field: 'container_id' });
    if (!c.logPath) throw precondition(`container ${c.id} has no log file (its pod has no log_directory or it has no log_path)`, { field: 'container_id' });
    await ctx.cri.service.reopenLog(c.id);
    return {};
  };
}
