// ListPodSandbox's and ListContainers' filters, as containerd applies them: every field that is
// set must match (an id matches by prefix, as crictl's truncated ids do); a label selector
// matches when every key is present with the same value.
import type { StringMap } from './cri-types.ts';

export interface PodSandboxFilter {
  id?: string;
  state?: { state?: string | number } | null;
  label_selector?: StringMap;
}

export interface ContainerFilter {
  id?: string;
  state?: { state?: string | number } | null;
  pod_sandbox_id?: string;
  label_selector?: StringMap;
}

export interface Filterable {
  id: string;
  state: string;
  labels: StringMap;
}

export function labelsMatch(labels: StringMap, selector: StringMap | undefined): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels[k] !== v) return false;
  return true;
}

const idMatches = (id: string, wanted: string | undefined): boolean => !wanted || id.startsWith(wanted);
const stateMatches = (state: string, wanted: { state?: string | number } | null | undefined): boolean => !wanted || wanted.state === state;

export function podMatches(pod: Filterable, filter: PodSandboxFilter | null | undefined): boolean {
  if (!filter) return true;
  return idMatches(pod.id, filter.id) && stateMatches(pod.state, filter.state) && labelsMatch(pod.labels, filter.label_selector);
}

export function containerMatches(c: Filterable & { podSandboxId: string }, filter: ContainerFilter | null | undefined): boolean {
  if (!filter) return true;
  return (
    idMatches(c.id, filter.id) &&
    idMatches(c.podSandboxId, filter.pod_sandbox_id) &&
    stateMatches(c.state, filter.state) &&
    labelsMatch(c.labels, filter.label_selector)
  );
}
