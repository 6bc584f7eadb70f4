// UpdateContainerResources: the request's Linux resources, mapped as CreateContainer maps them
// (container-resources.ts), applied to the running container's cgroup by its runtime.
import { unimplemented } from '../../oci/errors.ts';
import { containerResources } from '../container-resources.ts';
import type { LinuxContainerResources } from '../cri-types.ts';
import type { CriContext } from './cri-context.ts';
import { criContainer } from './container-life.ts';
import { hostResourceFacts } from './container-facts-io.ts';
import type { UnaryRpc } from './rpc.ts';

export function updateContainerResources(ctx: CriContext): UnaryRpc {
  return async (req: { container_id?: string; linux?: LinuxContainerResources | null; windows?: object | null }) => {
    const c = criContainer(ctx, req.container_id);
    if (req.windows) throw unimplemented('windows: berthd runs Linux containers', { field: 'windows' });
    const { resources } = containerResources(req.linux, hostResourceFacts(), 'linux');
    const warnings = await ctx.cri.service.update(c.id, resources);
    for (const w of warnings) ctx.log.warn('UpdateContainerResources', { container: c.id, warning: w });
    return {};
  };
}
