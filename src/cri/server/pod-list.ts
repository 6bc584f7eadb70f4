// ListPodSandbox and PodSandboxStatus, from memory.
import { containerStatusOf } from '../cri-container.ts';
import { podMatches, type PodSandboxFilter } from '../cri-filters.ts';
import { podSandboxOf, podSandboxStatusOf, podVerboseInfo } from '../pod-record.ts';
import type { CriContext } from './cri-context.ts';
import { containersOfPod, criPod, lifeOf } from './container-life.ts';
import { nowNs } from './pod-run.ts';
import type { UnaryRpc } from './rpc.ts';
import { EncodedEntries, type Entry } from './encoded-entries.ts';

export function listPodSandbox(ctx: CriContext): UnaryRpc {
  return (req: { filter?: PodSandboxFilter | null }) => {
    const entries: Entry[] = [];
    for (const p of ctx.cri.pods.memory.values()) if (podMatches(p, req.filter)) entries.push({ source: p, version: p.state, message: podSandboxOf(p) });
    return new EncodedEntries('items', entries);
  };
}

export function podSandboxStatus(ctx: CriContext): UnaryRpc {
  return (req: { pod_sandbox_id?: string; verbose?: boolean }) => {
    const pod = criPod(ctx, req.pod_sandbox_id);
    return {
      status: podSandboxStatusOf(pod),
      info: req.verbose ? podVerboseInfo(pod) : {},
      containers_statuses: containersOfPod(ctx, pod.id).map((c) => containerStatusOf(c, lifeOf(ctx, c.id))),
      timestamp: nowNs(),
    };
  };
}
