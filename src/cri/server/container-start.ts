// StartContainer: the created container's process goes on to run its command.
import type { CriContext } from './cri-context.ts';
import { criContainer } from './container-life.ts';
import type { UnaryRpc } from './rpc.ts';

export function startContainer(ctx: CriContext): UnaryRpc {
  return async (req: { container_id?: string }) => {
    const c = criContainer(ctx, req.container_id);
    await ctx.cri.service.start(c.id);
    return {};
  };
}
