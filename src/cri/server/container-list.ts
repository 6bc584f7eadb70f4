// ListContainers and ContainerStatus, from memory.
import { containerOf, containerStatusOf } from '../cri-container.ts';
import { containerMatches, type ContainerFilter } from '../cri-filters.ts';
import type { CriContext } from './cri-context.ts';
import { criContainer, lifeOf } from './container-life.ts';
import type { UnaryRpc } from './rpc.ts';
import { EncodedEntries, type Entry } from './encoded-entries.ts';

export function listContainers(ctx: CriContext): UnaryRpc {
  return (req: { filter?: ContainerFilter | null }) => {
    const entries: Entry[] = [];
    for (const c of ctx.cri.containers.memory.values()) {
      const life = lifeOf(ctx, c.id);
      if (containerMatches({ id: c.id, podSandboxId: c.podSandboxId, state: life.state, labels: c.labels }, req.filter)) entries.push({ source: c, version: life.state, message: containerOf(c, life) });
    }
    return new EncodedEntries('containers', entries);
  };
}

export function containerStatus(ctx: CriContext): UnaryRpc {
  return (req: { container_id?: string; verbose?: boolean }) => {
    const c = criContainer(ctx, req.container_id);
    const life = lifeOf(ctx, c.id);
    const info: Record<string, string> = {};
    if (req.verbose) {
      const svc = ctx.cri.service.inspect(c.id);
      info.info = JSON.stringify({
        sandboxID: c.podSandboxId,
        pid: svc.init?.pid ?? 0,
        runtimeHandler: c.runtimeHandler,
        cgroupsPath: c.cgroupsPath,
        monitorPid: svc.monitor?.pid ?? 0,
        supervision: svc.supervision ?? null,
        logPath: c.logPath,
      });
    }
    return { status: containerStatusOf(c, life), info };
  };
}
