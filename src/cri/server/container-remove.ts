// RemoveContainer: a running container is stopped first (forcibly), then the container service
// removes it (runtime state, rootfs, snapshot, record) and berthd forgets its CRI record and
// name. Removing what is gone succeeds.
import { containerReservedName } from '../name-reservation.ts';
import type { CriContext } from './cri-context.ts';
import { criContainer, unlessGone } from './container-life.ts';
import type { UnaryRpc } from './rpc.ts';
import { nowNs } from './pod-run.ts';

export async function removeCriContainer(ctx: CriContext, id: string): Promise<void> {
  const c = ctx.cri.containers.get(id);
  await ctx.cri.service.remove(id, { force: true, ifExists: true });
  if (!c) return;
  ctx.cri.containers.delete(id);
  ctx.stats.cache.drop(id);
  const pod = ctx.cri.pods.get(c.podSandboxId);
  if (pod) ctx.cri.names.release(containerReservedName(c.metadata, pod.metadata), id);
  ctx.cri.events.emit('container', { containerId: id, podSandboxId: c.podSandboxId, type: 'CONTAINER_DELETED_EVENT', at: BigInt(nowNs()) });
}

export function removeContainer(ctx: CriContext): UnaryRpc {
  return async (req: { container_id?: string }) => {
    const c = unlessGone(req.container_id, () => criContainer(ctx, req.container_id));
    if (c) await removeCriContainer(ctx, c.id);
    return {};
  };
}
