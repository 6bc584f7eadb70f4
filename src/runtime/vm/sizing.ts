// How big a container's VM is, from linux.resources, and which limits the host's cgroup keeps
// on the VM's processes. Pure.
//
// The memory limit is the guest's RAM (at least MEMORY_FLOOR_MIB, which the guest kernel and the
// agent need to boot), so the container can't use more than its limit inside the guest; the host
// cgroup holds the whole VM (QEMU, virtiofsd, the monitor) to RAM + VMM_OVERHEAD_MIB. The CPU
// quota gives the vCPU count (rounded up) and stays as a quota on the host too.

import type { Resources } from '../../oci/runtime-spec.ts';

export const MEMORY_FLOOR_MIB = 128;
export const DEFAULT_MEMORY_MIB = 256;
/** QEMU's own memory (code, TCG's translation cache, device state), virtiofsd and the monitor. */
export const VMM_OVERHEAD_MIB = 256;

const MiB = 1024 * 1024;

export interface VmSizing {
  memoryMiB: number;
  cpus: number;
  /** What the host's cgroup gets: memory and cpu only (the guest is where devices and pids are limited). */
  hostResources: Resources;
}

export function vmSizing(resources: Resources | undefined, hostCpus: number): VmSizing {
  const limit = resources?.memory?.limit;
  const memoryMiB = limit && limit > 0 ? Math.max(MEMORY_FLOOR_MIB, Math.ceil(limit / MiB)) : DEFAULT_MEMORY_MIB;
  const quota = resources?.cpu?.quota;
  const period = resources?.cpu?.period || 100_000;
  const wanted = quota && quota > 0 ? Math.ceil(quota / period) : 1;
  const cpus = Math.max(1, Math.min(wanted, hostCpus));
  const hostResources: Resources = {};
  if (limit && limit > 0) {
    const bytes = (memoryMiB + VMM_OVERHEAD_MIB) * MiB;
    hostResources.memory = { limit: bytes, swap: bytes };
  }
  if (resources?.cpu) {
    const { quota: q, period: p, shares } = resources.cpu;
    hostResources.cpu = { ...(q !== undefined ? { quota: q } : {}), ...(p !== undefined ? { period: p } : {}), ...(shares !== undefined ? { shares } : {}) };
  }
  return { memoryMiB, cpus, hostResources };
}
