// StopContainer: the stop signal (the image's StopSignal, the request's, else SIGTERM), SIGKILL
// after the timeout; stopping what has stopped, or what is gone, succeeds.
import { BerthError } from '../../oci/errors.ts';
import type { CriContext } from './cri-context.ts';
import { criContainer } from './container-life.ts';
import type { UnaryRpc } from './rpc.ts';

export async function stopCriContainer(ctx: CriContext, id: string, timeoutSeconds: number): Promise<void> {
  try {
    await ctx.cri.service.stop(id, { timeout: timeoutSeconds });
  } catch (err) {
    if (err instanceof BerthError && err.kind === 'not-found') return;
    throw err;
  }
}

export function stopContainer(ctx: CriContext): UnaryRpc {
  return async (req: { container_id?: string; timeout?: string | number }) => {
    let c;
    try {
      c = criContainer(ctx, req.container_id);
    } catch (err) {
      // Idempotent: a container that is gone is stopped.
      if (err instanceof BerthError && err.kind === 'not-found' && req.container_id) return {};
      throw err;
    }
    const timeout = Math.max(0, Math.min(Number(req.timeout ?? 0) || 0, 24 * 3600));
    await stopCriContainer(ctx, c.id, timeout);
    return {};
  };
}
