// A CRI container's life, from the container service's memory (no disk read, no process look-up
// for a watched container): what List, Status and events report.
import { BerthError, invalid, notFound } from '../../oci/errors.ts';
import { criLife, type CriContainerRecord, type CriLife } from '../cri-container.ts';
import type { CriContext } from './cri-context.ts';

export function lifeOf(ctx: CriContext, id: string): CriLife {
  try {
    const info = ctx.cri.service.inspect(id);
    return criLife(info);
  } catch (err) {
    if (!(err instanceof BerthError) || err.kind !== 'not-found') throw err;
    // The container service lost it (removed underneath berthd): it ran, nobody knows how it ended.
    return criLife({ status: 'stopped' });
  }
}

/** The CRI container by id (a unique prefix is accepted, as crictl shortens ids). */
export function criContainer(ctx: CriContext, key: string | undefined): CriContainerRecord {
  const k = key ?? '';
  if (k === '') throw invalid('container_id: required', { field: 'container_id' });
  const exact = ctx.cri.containers.get(k);
  if (exact) return exact;
  const matches = ctx.cri.containers.values().filter((c) => c.id.startsWith(k));
  if (matches.length === 1) return matches[0]!;
  throw notFound(`no such container ${JSON.stringify(k.slice(0, 80))}`, { field: 'container_id' });
}

export function criPod(ctx: CriContext, key: string | undefined) {
  const k = key ?? '';
  if (k === '') throw invalid('pod_sandbox_id: required', { field: 'pod_sandbox_id' });
  const exact = ctx.cri.pods.get(k);
  if (exact) return exact;
  const matches = ctx.cri.pods.values().filter((p) => p.id.startsWith(k));
  if (matches.length === 1) return matches[0]!;
  throw notFound(`no such pod sandbox ${JSON.stringify(k.slice(0, 80))}`, { field: 'pod_sandbox_id' });
}

export const containersOfPod = (ctx: CriContext, podId: string): CriContainerRecord[] => ctx.cri.containers.values().filter((c) => c.podSandboxId === podId);
