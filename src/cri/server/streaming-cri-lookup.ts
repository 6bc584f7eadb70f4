// The streaming RPCs' lookup answered by berthd's pod and container records and the container
// service's memory (no disk read).
import type { StreamingContainerState, StreamingLookup } from '../streaming/streaming-lookup.ts';
import type { CriContainerState } from '../cri-container.ts';
import { podNetnsPath } from '../pod-record.ts';
import { lifeOf } from './container-life.ts';
import type { CriContext } from './cri-context.ts';

const STATE: Record<CriContainerState, StreamingContainerState> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
  CONTAINER_UNKNOWN: 'unknown',
};

export function criStreamingLookup(ctx: CriContext): StreamingLookup {
  return {
    container: (id) => {
      const c = ctx.cri.containers.get(id);
      return c && { state: STATE[lifeOf(ctx, c.id).state], podSandboxId: c.podSandboxId };
    },
    pod: (id) => {
      const p = ctx.cri.pods.get(id);
      return p && { ready: p.state === 'SANDBOX_READY', netnsPath: podNetnsPath(p) };
    },
  };
}
