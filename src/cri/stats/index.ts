// Public surface of berthd's stats mapping (re-exports only); see README.md for the wiring.
export { parseNetDev, type InterfaceCounters } from './net-dev.ts';
export { readNetDev } from './net-dev-reader.ts';
export {
  containerStats, cpuPointOf, cpuUsage, filesystemUsage, memoryUsage, networkUsage, podSandboxStats, swapUsage, usageNanoCores,
  type ContainerStatsInput, type CpuPoint, type PodContainer, type PodSandboxStatsInput, type WritableLayerUsage,
} from './cri-stats.ts';
export { SampleCache } from './sample-cache.ts';
export { collectContainerStats, collectPodSandboxStats, type ContainerSubject, type PodSubject, type StatsSources } from './collect.ts';
export {
  filterContainersForStats, filterPodsForStats, matchLabelSelector, resolveIdPrefix,
  type ContainerCandidate, type ContainerStatsFilter, type PodSandboxStatsFilter, type StatsCandidate,
} from './stats-filter.ts';
export type * from './stats-types.ts';
