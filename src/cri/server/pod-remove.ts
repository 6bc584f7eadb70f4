// RemovePodSandbox: stops the pod if it runs, removes its containers, then its directory (never
// through a mount: whatever is still mounted below it is refused), its record and its name.
// Removing an unknown pod succeeds.
import { rmSync } from 'node:fs';
import { BerthError } from '../../oci/errors.ts';
import { mountIdsBelow } from '../../runtime/unmount-below.ts';
import { podReservedName } from '../name-reservation.ts';
import type { CriContext } from './cri-context.ts';
import { containersOfPod, criPod } from './container-life.ts';
import { removeCriContainer } from './container-remove.ts';
import { stopPod } from './pod-stop.ts';
import type { UnaryRpc } from './rpc.ts';

export function removePodSandbox(ctx: CriContext): UnaryRpc {
  return async (req: { pod_sandbox_id?: string }) => {
    let pod;
    try {
      pod = criPod(ctx, req.pod_sandbox_id);
    } catch (err) {
      if (err instanceof BerthError && err.kind === 'not-found' && req.pod_sandbox_id) return {};
      throw err;
    }
    await ctx.cri.queue.run(pod.id, async () => {
      await stopPod(ctx, pod);
      for (const c of containersOfPod(ctx, pod.id)) await removeCriContainer(ctx, c.id);
      if (mountIdsBelow(pod.dir).length) throw new BerthError('internal', `pod ${pod.id}: ${pod.dir} still holds a mount; not removed`, { path: pod.dir });
      rmSync(pod.dir, { recursive: true, force: true });
      ctx.cri.pods.delete(pod.id);
      ctx.cri.names.release(podReservedName(pod.metadata), pod.id);
    });
    return {};
  };
}
