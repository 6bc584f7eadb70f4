// StopPodSandbox: every container of the pod is stopped (forcibly, as containerd does), then what
// the pod holds on the host goes: the CNI attachments, its network's and loopback's (DEL from the result cache, so it works after
// a restart), the pinned namespaces (unmounted with MNT_DETACH) and the /dev/shm tmpfs. Each step
// is recorded as done, so a stop that failed halfway finishes on retry; stopping a stopped or
// unknown pod succeeds.
import { existsSync, rmSync } from 'node:fs';
import { BerthError } from '../../oci/errors.ts';
import { MNT_DETACH, umount } from '../../sys/mount.ts';
import type { PodRecord } from '../pod-record.ts';
import type { CriContext } from './cri-context.ts';
import { containersOfPod, criPod, unlessGone } from './container-life.ts';
import { stopCriContainer } from './container-stop.ts';
import type { UnaryRpc } from './rpc.ts';
import { removeInfra } from './pod-infra.ts';
import { loopbackDown } from './pod-loopback.ts';

/** umount2(MNT_DETACH) in-process (berthd has libc loaded; no helper process); not mounted is done. */
function detachIfMounted(path: string): void {
  try {
    umount(path, MNT_DETACH);
  } catch (err) {
    if (!(err instanceof BerthError) || (err.where.errno !== 'EINVAL' && err.where.errno !== 'ENOENT')) throw err;
  }
}

export async function stopPod(ctx: CriContext, pod: PodRecord): Promise<void> {
  for (const c of containersOfPod(ctx, pod.id)) await stopCriContainer(ctx, c.id, 0);
  await removeInfra(ctx, pod, true);
  if (pod.state === 'SANDBOX_NOTREADY') return;
  if (pod.network) {
    await ctx.cri.cni.detach(pod.network.name, { containerId: pod.id, ifname: pod.network.ifname });
    await loopbackDown(ctx, pod.id);
    delete pod.network;
    ctx.cri.pods.save(pod);
  }
  // Detached: a namespace still in use stays alive for its users.
  for (const t of ['network', 'ipc', 'uts'] as const) {
    const ns = pod.namespaces[t];
    if (ns === 'host' || !existsSync(ns.path)) continue;
    detachIfMounted(ns.path);
    rmSync(ns.path, { force: true });
  }
  if (pod.shmMounted && pod.files.shm) {
    detachIfMounted(pod.files.shm);
    pod.shmMounted = false;
  }
  pod.state = 'SANDBOX_NOTREADY';
  ctx.cri.pods.save(pod);
}

export function stopPodSandbox(ctx: CriContext): UnaryRpc {
  return async (req: { pod_sandbox_id?: string }) => {
    const pod = unlessGone(req.pod_sandbox_id, () => criPod(ctx, req.pod_sandbox_id));
    if (pod) await ctx.cri.queue.run(pod.id, () => stopPod(ctx, pod));
    return {};
  };
}
