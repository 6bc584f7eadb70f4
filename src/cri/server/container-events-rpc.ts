// GetContainerEvents (the evented PLEG): one message per container created, started, stopped or
// deleted, with its pod's status and the statuses of the pod's containers, until the client goes.
import { containerStatusOf } from '../cri-container.ts';
import { podSandboxStatusOf } from '../pod-record.ts';
import type { CriContext } from './cri-context.ts';
import type { CriEvents } from './cri-state.ts';
import { containersOfPod, lifeOf } from './container-life.ts';
import type { StreamingRpc } from './rpc.ts';

export function getContainerEvents(ctx: CriContext): StreamingRpc {
  return (_req, send, rpc) =>
    new Promise<void>((resolve) => {
      const onEvent = (e: CriEvents['container'][0]): void => {
        const pod = ctx.cri.pods.get(e.podSandboxId);
        send({
          container_id: e.containerId,
          container_event_type: e.type,
          created_at: String(e.at),
          pod_sandbox_status: pod ? podSandboxStatusOf(pod) : null,
          containers_statuses: containersOfPod(ctx, e.podSandboxId).map((c) => containerStatusOf(c, lifeOf(ctx, c.id))),
        });
      };
      ctx.cri.events.on('container', onEvent);
      const end = (): void => {
        ctx.cri.events.off('container', onEvent);
        rpc.signal.removeEventListener('abort', end);
        ctx.cri.shutdown.signal.removeEventListener('abort', end);
        resolve();
      };
      if (rpc.signal.aborted || ctx.cri.shutdown.signal.aborted) return end();
      rpc.signal.addEventListener('abort', end, { once: true });
      ctx.cri.shutdown.signal.addEventListener('abort', end, { once: true });
    });
}
