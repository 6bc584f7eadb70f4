// Pure: `update` flags (or -r resources.json) merged over a container's resources, as runc does.

import { invalid } from '../oci/errors.ts';
import type { Resources } from '../oci/runtime-spec.ts';

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

type ResourceSetter = (r: Resources, value: string, flag: string) => void;

const memory = (r: Resources): NonNullable<Resources['memory']> => (r.memory ??= {});
const cpu = (r: Resources): NonNullable<Resources['cpu']> => (r.cpu ??= {});

/** runc's `update` flags: each one's name, help and the resource it sets. */
export const UPDATE_FLAGS: ReadonlyArray<{ name: string; help: string; set: ResourceSetter }> = [
  { name: 'memory', help: 'memory limit (e.g. 512m)', set: (r, v, f) => (memory(r).limit = parseBytes(v, f)) },
  { name: 'memory-swap', help: 'memory + swap limit', set: (r, v, f) => (memory(r).swap = parseBytes(v, f)) },
  { name: 'memory-reservation', help: 'memory soft limit', set: (r, v, f) => (memory(r).reservation = parseBytes(v, f)) },
  { name: 'kernel-memory', help: 'kernel memory limit (ignored by recent kernels)', set: (r, v, f) => (memory(r).kernel = parseBytes(v, f)) },
  { name: 'cpu-shares', help: 'CPU shares (relative weight)', set: (r, v, f) => (cpu(r).shares = int(v, f, 0)) },
  { name: 'cpu-quota', help: 'CPU CFS quota in microseconds', set: (r, v, f) => (cpu(r).quota = int(v, f)) },
  { name: 'cpu-period', help: 'CPU CFS period in microseconds', set: (r, v, f) => (cpu(r).period = int(v, f, 0)) },
  { name: 'cpuset-cpus', help: 'CPUs allowed (e.g. 0-1)', set: (r, v) => (cpu(r).cpus = v) },
  { name: 'cpuset-mems', help: 'memory nodes allowed', set: (r, v) => (cpu(r).mems = v) },
  { name: 'cpu-rt-runtime', help: 'realtime runtime in microseconds', set: (r, v, f) => (cpu(r).realtimeRuntime = int(v, f)) },
  { name: 'cpu-rt-period', help: 'realtime period in microseconds', set: (r, v, f) => (cpu(r).realtimePeriod = int(v, f, 0)) },
  { name: 'pids-limit', help: 'maximum number of processes', set: (r, v, f) => (r.pids = { limit: int(v, f) }) },
  { name: 'blkio-weight', help: 'block IO weight (10-1000)', set: (r, v, f) => (r.blockIO = { weight: int(v, f, 0) }) },
];

/** The resources to write from parsed flags (by flag name): only what they name, merged over nothing. */
export function resourcesFromFlags(values: Readonly<Record<string, unknown>>): Resources {
  const r: Resources = {};
  for (const spec of UPDATE_FLAGS) {
    const v = values[spec.name];
    if (typeof v === 'string') spec.set(r, v, `--${spec.name}`);
  }
  return r;
}

export function mergeResources(base: Resources | undefined, update: Resources): Resources {
  const out: Record<string, unknown> = structuredClone(base ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(update)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' && !Array.isArray(out[k])) {
      out[k] = { ...(out[k] as object), ...(v as object) };
    } else out[k] = v;
  }
  return out as Resources;
}
