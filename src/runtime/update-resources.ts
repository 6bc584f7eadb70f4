// Pure: `update` flags (or -r resources.json) merged over a container's resources, as runc does.

import { invalid } from '../oci/errors.ts';
import type { Resources } from '../oci/runtime-spec.ts';

export interface UpdateFlags {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  kernelMemory?: string;
  cpuShares?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  cpuRtRuntime?: string;
  cpuRtPeriod?: string;
  pidsLimit?: string;
  blkioWeight?: string;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

/** "512m", "1g", "1048576", "-1" (unlimited) as docker and runc accept them. */
export function parseBytes(value: string, field: string): number {
  if (value === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw invalid(`${field}: "${value}" is not a size (e.g. 512m, 1g)`, { field });
  return Math.floor(Number(m[1]) * unit);
}

function int(value: string, field: string, min = -1): number {
  if (!/^-?\d+$/.test(value) || Number(value) < min) throw invalid(`${field}: "${value}" is not a valid number`, { field });
  return Number(value);
}

/** The resources to write: only what the flags name, merged over nothing (runc writes the merged set). */
export function resourcesFromFlags(f: UpdateFlags): Resources {
  const r: Resources = {};
  const mem: NonNullable<Resources['memory']> = {};
  if (f.memory !== undefined) mem.limit = parseBytes(f.memory, '--memory');
  if (f.memorySwap !== undefined) mem.swap = parseBytes(f.memorySwap, '--memory-swap');
  if (f.memoryReservation !== undefined) mem.reservation = parseBytes(f.memoryReservation, '--memory-reservation');
  if (f.kernelMemory !== undefined) mem.kernel = parseBytes(f.kernelMemory, '--kernel-memory');
  if (Object.keys(mem).length) r.memory = mem;
  const cpu: NonNullable<Resources['cpu']> = {};
  if (f.cpuShares !== undefined) cpu.shares = int(f.cpuShares, '--cpu-shares', 0);
  if (f.cpuQuota !== undefined) cpu.quota = int(f.cpuQuota, '--cpu-quota');
  if (f.cpuPeriod !== undefined) cpu.period = int(f.cpuPeriod, '--cpu-period', 0);
  if (f.cpusetCpus !== undefined) cpu.cpus = f.cpusetCpus;
  if (f.cpusetMems !== undefined) cpu.mems = f.cpusetMems;
  if (f.cpuRtRuntime !== undefined) cpu.realtimeRuntime = int(f.cpuRtRuntime, '--cpu-rt-runtime');
  if (f.cpuRtPeriod !== undefined) cpu.realtimePeriod = int(f.cpuRtPeriod, '--cpu-rt-period', 0);
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (f.pidsLimit !== undefined) r.pids = { limit: int(f.pidsLimit, '--pids-limit') };
  if (f.blkioWeight !== undefined) r.blockIO = { weight: int(f.blkioWeight, '--blkio-weight', 0) };
  return r;
}

/** Deep merge of an update over the stored resources (arrays replace). */
export function mergeResources(base: Resources | undefined, update: Resources): Resources {
  const out: Record<string, unknown> = structuredClone(base ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(update)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' && !Array.isArray(out[k])) {
      out[k] = { ...(out[k] as object), ...(v as object) };
    } else out[k] = v;
  }
  return out as Resources;
}
