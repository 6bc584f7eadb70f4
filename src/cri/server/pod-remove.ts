// RemovePodSandbox: stops the pod if it runs, removes its containers, then its directory (never
// through a mount: whatever is still mounted below it is refused), its record and its name.
// Removing an unknown pod succeeds.
import { rmSync } from 'node:fs';
import { BerthError } from '../../oci/errors.ts';
import { mountIdsBelow } from '../../runtime/unmount-below.ts';
import { podReservedName } from '../name-reservation.ts';
import type { CriContext } from './cri-context.ts';
import { containersOfPod, criPod, unlessGone } from './container-life.ts';
import { removeCriContainer } from './container-remove.ts';
import { stopPod } from './pod-stop.ts';
import type { UnaryRpc } from './rpc.ts';
import { removeInfra } from './pod-infra.ts';

export function removePodSandbox(ctx: CriContext): UnaryRpc {
  return async (req: { pod_sandbox_id?: string }) => {
    const pod = unlessGone(req.pod_sandbox_id, () => criPod(ctx, req.pod_sandbox_id));
    if (!pod) return {};
    await ctx.cri.queue.run(pod.id, async () => {
      await stopPod(ctx, pod);
      for (const c of containersOfPod(ctx, pod.id)) await removeCriContainer(ctx, c.id);
      await removeInfra(ctx, pod);
      if (mountIdsBelow(pod.dir).length) throw new BerthError('internal', `pod ${pod.id}: ${pod.dir} still holds a mount; not removed`, { path: pod.dir });
      rmSync(pod.dir, { recursive: true, force: true });
      ctx.cri.pods.delete(pod.id);
      ctx.stats.cache.drop(pod.id);
      ctx.cri.names.release(podReservedName(pod.metadata), pod.id);
    });
    return {};
  };
}
