// ListContainerStats / ListPodSandboxStats filters (api.proto ContainerStatsFilter,
// PodSandboxStatsFilter): fields ANDed, label_selector as MatchLabels only. As containerd, an id
// may be given as a unique prefix of the full one.
import type { StringMap } from '../cri-types.ts';

export interface ContainerStatsFilter {
  id?: string;
  pod_sandbox_id?: string;
  label_selector?: StringMap;
}

export interface PodSandboxStatsFilter {
  id?: string;
  label_selector?: StringMap;
}

export interface StatsCandidate {
  id: string;
  labels: StringMap;
}

export interface ContainerCandidate extends StatsCandidate {
  podSandboxId: string;
}

/** Every selector label is on the object with the same value. */
export function matchLabelSelector(selector: StringMap | undefined | null, labels: StringMap): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

/** The full id `wanted` names among `ids`: itself, else the one id it is a prefix of; else `wanted` unchanged. */
export function resolveIdPrefix(wanted: string, ids: Iterable<string>): string {
  let match: string | undefined;
  for (const id of ids) {
    if (id === wanted) return id;
    if (id.startsWith(wanted)) {
      if (match !== undefined) return wanted; // ambiguous: matches nothing exactly
      match = id;
    }
  }
  return match ?? wanted;
}

export function filterContainersForStats<C extends ContainerCandidate>(
  containers: readonly C[],
  filter: ContainerStatsFilter | null | undefined,
  podIds: Iterable<string> = containers.map((c) => c.podSandboxId),
): C[] {
  if (!filter) return [...containers];
  const id = filter.id ? resolveIdPrefix(filter.id, containers.map((c) => c.id)) : '';
  const pod = filter.pod_sandbox_id ? resolveIdPrefix(filter.pod_sandbox_id, podIds) : '';
  return containers.filter((c) => (!id || c.id === id) && (!pod || c.podSandboxId === pod) && matchLabelSelector(filter.label_selector, c.labels));
}

export function filterPodsForStats<P extends StatsCandidate>(pods: readonly P[], filter: PodSandboxStatsFilter | null | undefined): P[] {
  if (!filter) return [...pods];
  const id = filter.id ? resolveIdPrefix(filter.id, pods.map((p) => p.id)) : '';
  return pods.filter((p) => (!id || p.id === id) && matchLabelSelector(filter.label_selector, p.labels));
}
