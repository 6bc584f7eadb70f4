// A CRI container's life, from the container service's memory (no disk read, no process look-up
// for a watched container): what List, Status and events report.
import { BerthError, invalid, notFound } from '../../oci/errors.ts';
import { criLife, type CriContainerRecord, type CriLife } from '../cri-container.ts';
import type { CriContext } from './cri-context.ts';
import type { RecordDir } from '../cri-record-dir.ts';
import type { PodRecord } from '../pod-record.ts';

export function lifeOf(ctx: Pick<CriContext, 'cri'>, id: string): CriLife {
  try {
    return criLife(ctx.cri.service.life(id));
  } catch (err) {
    if (!(err instanceof BerthError) || err.kind !== 'not-found') throw err;
    // The container service lost it (removed underneath berthd): it ran, nobody knows how it ended.
    return criLife({ status: 'stopped' });
  }
}

/** A record by id, or by a unique id prefix (crictl shortens ids). */
function byIdOrPrefix<T extends { id: string }>(dir: RecordDir<T>, key: string | undefined, field: string, what: string): T {
  const k = key ?? '';
  if (k === '') throw invalid(`${field}: required`, { field });
  const exact = dir.get(k);
  if (exact) return exact;
  const matches = dir.values().filter((r) => r.id.startsWith(k));
  if (matches.length === 1) return matches[0]!;
  throw notFound(`no such ${what} ${JSON.stringify(k.slice(0, 80))}`, { field });
}

export const criContainer = (ctx: Pick<CriContext, 'cri'>, key: string | undefined): CriContainerRecord => byIdOrPrefix(ctx.cri.containers, key, 'container_id', 'container');

export const criPod = (ctx: Pick<CriContext, 'cri'>, key: string | undefined): PodRecord => byIdOrPrefix(ctx.cri.pods, key, 'pod_sandbox_id', 'pod sandbox');

/**
 * For Stop and Remove, which succeed on what is gone: the record, or undefined when there is
 * none by that (non-empty) id. An empty id is still refused.
 */
export function unlessGone<T>(key: string | undefined, find: () => T): T | undefined {
  try {
    return find();
  } catch (err) {
    if (err instanceof BerthError && err.kind === 'not-found' && key) return undefined;
    throw err;
  }
}

export const containersOfPod = (ctx: Pick<CriContext, 'cri'>, podId: string): CriContainerRecord[] => ctx.cri.containers.values().filter((c) => c.podSandboxId === podId);
