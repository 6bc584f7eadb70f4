// ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats (and their Stream
// variants): berthd's records give the subjects, cri/stats reads their cgroups, writable layers and
// network counters. No process is spawned; a container that is not running reports its attributes
// and writable layer only, as containerd does.
import {
  collectContainerStats, collectPodSandboxStats, filterContainersForStats, filterPodsForStats,
  type ContainerStats, type ContainerStatsFilter, type ContainerSubject, type PodSandboxStats, type PodSandboxStatsFilter, type PodSubject,
} from '../stats/index.ts';
import { BerthError } from '../../oci/errors.ts';
import { checkStringMap } from '../request-limits.ts';
import type { CriContainerRecord } from '../cri-container.ts';
import type { PodRecord } from '../pod-record.ts';
import type { CriContext } from './cri-context.ts';
import { criContainer, criPod, lifeOf } from './container-life.ts';
import type { StreamingRpc, UnaryRpc } from './rpc.ts';

/** Stats per Stream*Stats message: a pod's stats are a few hundred bytes per container. */
const STREAM_BATCH = 100;

function containerSubject(ctx: CriContext, c: CriContainerRecord): ContainerSubject {
  return {
    attributes: { id: c.id, metadata: c.metadata, labels: c.labels, annotations: c.annotations },
    cgroupsPath: c.cgroupsPath,
    running: lifeOf(ctx, c.id).state === 'CONTAINER_RUNNING',
  };
}

/** The host pid of a container's init while it runs (the infra's container id is the pod's). */
function runningPid(ctx: CriContext, id: string): number | undefined {
  try {
    const info = ctx.cri.service.inspect(id);
    return info.status === 'running' ? info.init?.pid : undefined;
  } catch (err) {
    if (err instanceof BerthError && err.kind === 'not-found') return undefined;
    throw err;
  }
}

/** A process in the pod's network namespace: its infra, else any running container's init. */
function netnsPidOf(ctx: CriContext, pod: PodRecord, containers: CriContainerRecord[]): number | undefined {
  if (pod.namespaces.network === 'host' || pod.state !== 'SANDBOX_READY') return undefined;
  for (const id of [...(pod.infra ? [pod.id] : []), ...containers.map((c) => c.id)]) {
    const pid = runningPid(ctx, id);
    if (pid !== undefined) return pid;
  }
  return undefined;
}

function podSubject(ctx: CriContext, pod: PodRecord, containers: CriContainerRecord[]): PodSubject {
  const netnsPid = netnsPidOf(ctx, pod, containers);
  return {
    attributes: { id: pod.id, metadata: pod.metadata, labels: pod.labels, annotations: pod.annotations },
    ...(pod.cgroupParent ? { cgroupParent: pod.cgroupParent } : {}),
    ...(netnsPid !== undefined ? { netnsPid } : {}),
    containers: containers.map((c) => containerSubject(ctx, c)),
  };
}

/** Containers by pod id, built once per call (no scan of every container per pod). */
function containersByPod(ctx: CriContext): Map<string, CriContainerRecord[]> {
  const byPod = new Map<string, CriContainerRecord[]>();
  for (const c of ctx.cri.containers.memory.values()) {
    const list = byPod.get(c.podSandboxId);
    if (list) list.push(c);
    else byPod.set(c.podSandboxId, [c]);
  }
  return byPod;
}

async function selectedContainerStats(ctx: CriContext, filter: ContainerStatsFilter | null | undefined): Promise<ContainerStats[]> {
  checkStringMap(filter?.label_selector, 'filter.label_selector');
  const records = [...ctx.cri.containers.memory.values()].map((r) => ({ id: r.id, podSandboxId: r.podSandboxId, labels: r.labels, record: r }));
  const chosen = filterContainersForStats(records, filter, ctx.cri.pods.memory.keys());
  const stats: ContainerStats[] = [];
  for (const c of chosen) stats.push((await collectContainerStats(ctx.stats, containerSubject(ctx, c.record))).stats);
  return stats;
}

async function selectedPodStats(ctx: CriContext, filter: PodSandboxStatsFilter | null | undefined): Promise<PodSandboxStats[]> {
  checkStringMap(filter?.label_selector, 'filter.label_selector');
  const byPod = containersByPod(ctx);
  const chosen = filterPodsForStats([...ctx.cri.pods.memory.values()], filter);
  const stats: PodSandboxStats[] = [];
  for (const p of chosen) stats.push(await collectPodSandboxStats(ctx.stats, podSubject(ctx, p, byPod.get(p.id) ?? [])));
  return stats;
}

export function containerStatsRpc(ctx: CriContext): UnaryRpc {
  return async (req: { container_id?: string }) => {
    const c = criContainer(ctx, req.container_id);
    return { stats: (await collectContainerStats(ctx.stats, containerSubject(ctx, c))).stats };
  };
}

export function listContainerStats(ctx: CriContext): UnaryRpc {
  return async (req: { filter?: ContainerStatsFilter | null }) => ({ stats: await selectedContainerStats(ctx, req.filter) });
}

export function streamContainerStats(ctx: CriContext): StreamingRpc {
  return async (req: { filter?: ContainerStatsFilter | null }, send) => {
    const stats = await selectedContainerStats(ctx, req.filter);
    for (let i = 0; i < stats.length; i += STREAM_BATCH) send({ container_stats: stats.slice(i, i + STREAM_BATCH) });
  };
}

export function podSandboxStatsRpc(ctx: CriContext): UnaryRpc {
  return async (req: { pod_sandbox_id?: string }) => {
    const pod = criPod(ctx, req.pod_sandbox_id);
    const containers = containersByPod(ctx).get(pod.id) ?? [];
    return { stats: await collectPodSandboxStats(ctx.stats, podSubject(ctx, pod, containers)) };
  };
}

export function listPodSandboxStats(ctx: CriContext): UnaryRpc {
  return async (req: { filter?: PodSandboxStatsFilter | null }) => ({ stats: await selectedPodStats(ctx, req.filter) });
}

export function streamPodSandboxStats(ctx: CriContext): StreamingRpc {
  return async (req: { filter?: PodSandboxStatsFilter | null }, send) => {
    const stats = await selectedPodStats(ctx, req.filter);
    for (let i = 0; i < stats.length; i += STREAM_BATCH) send({ pod_sandbox_stats: stats.slice(i, i + STREAM_BATCH) });
  };
}
