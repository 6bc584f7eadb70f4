// linux.resources from LinuxContainerResources (containerd's WithResources): a zero means "not
// set"; swap equals the memory limit unless given (no swapping by default) where swap is
// accounted; hugepage limits are dropped when the host has no hugetlb controller (the kubelet
// sends a zero limit for every page size); unified (cgroup v2) keys and values are checked so
// that none can name a file outside the cgroup or smuggle a second line.
import { invalid } from '../oci/errors.ts';
import type { Resources } from '../oci/runtime-spec.ts';
import type { LinuxContainerResources } from './cri-types.ts';
import { int64 } from './int64.ts';

const FIELD = 'config.linux.resources';
const CPUSET = /^[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*$/;
const PAGE_SIZE = /^[1-9][0-9]*(?:KB|MB|GB|TB|PB)$/;
const UNIFIED_KEY = /^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/;

export interface ResourceFacts {
  swapAccounting: boolean;
  hugetlb: boolean;
}

export interface ContainerResources {
  resources: Resources;
  oomScoreAdj?: number;
}

function cpuset(value: string | undefined, field: string): string | undefined {
  if (!value) return undefined;
  if (!CPUSET.test(value)) throw invalid(`${field}: ${JSON.stringify(value)} is not a CPU or memory node list`, { field });
  return value;
}

export function containerResources(r: LinuxContainerResources | null | undefined, facts: ResourceFacts, field = FIELD): ContainerResources {
  if (!r) return { resources: {} };
  const period = int64(r.cpu_period, `${field}.cpu_period`, { min: 0 });
  const quota = int64(r.cpu_quota, `${field}.cpu_quota`, { min: -1 });
  const shares = int64(r.cpu_shares, `${field}.cpu_shares`, { min: 0 });
  const limit = int64(r.memory_limit_in_bytes, `${field}.memory_limit_in_bytes`, { min: 0 });
  const swap = int64(r.memory_swap_limit_in_bytes, `${field}.memory_swap_limit_in_bytes`, { min: -1 });
  const oomScoreAdj = int64(r.oom_score_adj, `${field}.oom_score_adj`, { min: -1000, max: 1000 });
  const cpus = cpuset(r.cpuset_cpus, `${field}.cpuset_cpus`);
  const mems = cpuset(r.cpuset_mems, `${field}.cpuset_mems`);

  const out: Resources = {};
  const cpu: NonNullable<Resources['cpu']> = {};
  if (period !== 0) cpu.period = period;
  if (quota !== 0) cpu.quota = quota;
  if (shares !== 0) cpu.shares = shares;
  if (cpus) cpu.cpus = cpus;
  if (mems) cpu.mems = mems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  const memory: NonNullable<Resources['memory']> = {};
  if (limit !== 0) {
    memory.limit = limit;
    if (swap === 0 && facts.swapAccounting) memory.swap = limit;
  }
  if (swap !== 0 && facts.swapAccounting) memory.swap = swap;
  if (Object.keys(memory).length > 0) out.memory = memory;

  const hugepages = (r.hugepage_limits ?? []).map((h, i) => {
    const f = `${field}.hugepage_limits[${i}]`;
    const pageSize = h.page_size ?? '';
    if (!PAGE_SIZE.test(pageSize)) throw invalid(`${f}.page_size: ${JSON.stringify(pageSize)} is not a page size like 2MB or 1GB`, { field: `${f}.page_size` });
    return { pageSize, limit: int64(h.limit, `${f}.limit`, { min: 0 }) };
  });
  if (hugepages.length > 0 && facts.hugetlb) out.hugepageLimits = hugepages;

  const unified = Object.entries(r.unified ?? {});
  for (const [key, value] of unified) {
    const f = `${field}.unified[${JSON.stringify(key)}]`;
    if (!UNIFIED_KEY.test(key)) throw invalid(`${f}: ${JSON.stringify(key)} is not a cgroup v2 interface file name`, { field: f });
    if (/[\n\r\0]/.test(value)) throw invalid(`${f}: the value must be a single line`, { field: f });
  }
  if (unified.length > 0) out.unified = Object.fromEntries(unified);
  return { resources: out, oomScoreAdj };
}

/** cgroupfs path of a container: its id below the pod's cgroup parent (containerd's getCgroupsPath). */
export function containerCgroupsPath(parent: string, containerId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(containerId)) throw invalid(`container id ${JSON.stringify(containerId)} cannot name a cgroup`, { field: 'container_id' });
  return `${parent.replace(/\/+$/, '')}/${containerId}`;
}
