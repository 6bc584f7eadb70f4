// The container service's events as the CRI's: started and exited containers of berthd's pods
// become CONTAINER_STARTED_EVENT / CONTAINER_STOPPED_EVENT (created and deleted are announced by
// the RPCs themselves, once the CRI record exists or is gone).
import type { ContainerRecord } from '../../containers/container-record.ts';
import type { CriContext } from './cri-context.ts';
import type { ContainerEventType } from './cri-state.ts';

export function watchContainerEvents(ctx: CriContext): () => void {
  const relay = (type: ContainerEventType) => (record: ContainerRecord) => {
    const c = ctx.cri.containers.get(record.id);
    if (c) ctx.cri.events.emit('container', { containerId: c.id, podSandboxId: c.podSandboxId, type, at: BigInt(Date.now()) * 1_000_000n });
  };
  const started = relay('CONTAINER_STARTED_EVENT');
  const exited = relay('CONTAINER_STOPPED_EVENT');
  ctx.cri.service.events.on('started', started);
  ctx.cri.service.events.on('exited', exited);
  return () => {
    ctx.cri.service.events.off('started', started);
    ctx.cri.service.events.off('exited', exited);
  };
}
