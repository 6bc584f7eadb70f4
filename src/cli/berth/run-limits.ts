// Pure: docker's resource flags (`run` and `update`) become OCI resources, rlimits and
// oom_score_adj, with docker's checks and defaults: --memory at least 6 MiB; --memory-swap is
// memory+swap, needs --memory, and defaults to twice it; --memory-reservation at most --memory;
// --cpus N is a CFS quota of N periods of 100 ms and conflicts with --cpu-quota/--cpu-period;
// --cpuset-cpus/--cpuset-mems only name what the host has; --pids-limit 0 or -1 is no limit;
// --ulimit name=soft[:hard] with soft <= hard; --oom-score-adj in -1000..1000.
import { invalid } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import type { Rlimit, Resources } from '../../oci/runtime-spec.ts';
import { RLIMIT_NUMBERS } from '../../runtime/rlimits.ts';
import { parseBytes } from '../../runtime/update-resources.ts';
import type { FlagSpec } from './args.ts';

/** The flags `run` and `update` share, by docker's names. */
export const RESOURCE_FLAGS: FlagSpec[] = [
  { name: 'memory', alias: 'm', kind: 'string', help: 'memory limit (e.g. 512m, 1g; at least 6m)' },
  { name: 'memory-swap', kind: 'string', help: 'memory + swap limit (-1: unlimited swap; run: default twice --memory)' },
  { name: 'memory-reservation', kind: 'string', help: 'memory soft limit (at most --memory)' },
  { name: 'cpus', kind: 'string', help: 'number of CPUs (e.g. 1.5: a CFS quota of 150 ms per 100 ms)' },
  { name: 'cpu-shares', alias: 'c', kind: 'string', help: 'CPU shares (relative weight, default 1024)' },
  { name: 'cpu-quota', kind: 'string', help: 'CFS quota in microseconds per --cpu-period' },
  { name: 'cpu-period', kind: 'string', help: 'CFS period in microseconds (1000-1000000)' },
  { name: 'cpuset-cpus', kind: 'string', help: 'CPUs allowed (e.g. 0-1, 0,2)' },
  { name: 'cpuset-mems', kind: 'string', help: 'memory nodes allowed (e.g. 0)' },
  { name: 'pids-limit', kind: 'string', help: 'maximum number of processes (0 or -1: unlimited)' },
];

/** Only for `run`: they act on the container's first process. */
export const PROCESS_LIMIT_FLAGS: FlagSpec[] = [
  { name: 'ulimit', kind: 'list', help: 'a resource limit: NAME=SOFT[:HARD] (nofile, nproc, core, stack, memlock...; -1 or unlimited)' },
  { name: 'oom-score-adj', kind: 'string', help: 'the OOM killer score adjustment (-1000..1000; lowering it needs CAP_SYS_RESOURCE)' },
];

export interface HostCpus {
  /** CPUs and memory nodes this machine has online. */
  cpus: ReadonlySet<number>;
  mems: ReadonlySet<number>;
}

export interface ProcessLimits {
  rlimits: Rlimit[];
  oomScoreAdj?: number;
}

const MIN_MEMORY = 6 * 1024 * 1024;
const CPU_PERIOD = 100_000;
/** Values at or above 2^63 mean RLIM_INFINITY to berth's runtime (JSON cannot carry 2^64-1). */
export const RLIM_INFINITY_JSON = 2 ** 63;

type Flags = Readonly<Record<string, unknown>>;
const given = (flags: Flags, name: string): string | undefined => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined);

function integer(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw invalid(`${flag} ${quote(value)}: expected a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ` of at least ${min}`}`, { field: flag });
  }
  return Number(value);
}

/** "0-2,4" -> [0,1,2,4]; an empty or malformed list is an error naming the flag. */
export function parseCpuList(flag: string, value: string): number[] {
  const out = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) throw invalid(`${flag} ${quote(value)}: expected a list such as 0-2,4`, { field: flag });
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

function cpuset(flag: string, value: string, available: ReadonlySet<number>, what: string): string {
  const wanted = parseCpuList(flag, value);
  const missing = wanted.filter((c) => !available.has(c));
  if (missing.length) throw invalid(`${flag} ${quote(value)}: ${what} ${missing.join(',')} not available (this machine has ${[...available].join(',')})`, { field: flag });
  return value.trim();
}

/**
 * Resources from the flags given (only what they set). `current` is what the container has now
 * (`update`): the checks between flags apply to the result.
 */
export function resourcesFromFlags(flags: Flags, host: HostCpus, current: Resources = {}, mode: 'run' | 'update' = 'run'): Resources {
  const r: Resources = {};
  const mem = given(flags, 'memory');
  const swap = given(flags, 'memory-swap');
  const reservation = given(flags, 'memory-reservation');
  if (mem !== undefined || swap !== undefined || reservation !== undefined) r.memory = {};
  if (mem !== undefined) {
    const v = parseBytes(mem, '--memory');
    if (v !== -1 && v < MIN_MEMORY) throw invalid(`--memory ${quote(mem)}: the minimum is 6m`, { field: '--memory' });
    r.memory!.limit = v;
  }
  if (swap !== undefined) {
    if (mem === undefined && !(current.memory?.limit && current.memory.limit > 0)) {
      throw invalid('--memory-swap: needs --memory (memory-swap is memory plus swap)', { field: '--memory-swap' });
    }
    r.memory!.swap = parseBytes(swap, '--memory-swap');
  } else if (mode === 'run' && r.memory?.limit !== undefined && r.memory.limit > 0) r.memory!.swap = r.memory.limit * 2;
  if (reservation !== undefined) r.memory!.reservation = parseBytes(reservation, '--memory-reservation');
  const limit = r.memory?.limit ?? current.memory?.limit;
  const total = r.memory?.swap ?? current.memory?.swap;
  if (limit !== undefined && limit > 0 && total !== undefined && total !== -1 && total < limit) {
    throw invalid(`--memory-swap: ${total} must be at least --memory (${limit}): it is memory plus swap`, { field: '--memory-swap' });
  }
  const soft = r.memory?.reservation ?? current.memory?.reservation;
  if (limit !== undefined && limit > 0 && soft !== undefined && soft > limit) {
    throw invalid(`--memory-reservation: ${soft} must be at most --memory (${limit})`, { field: '--memory-reservation' });
  }

  const cpus = given(flags, 'cpus');
  const quota = given(flags, 'cpu-quota');
  const period = given(flags, 'cpu-period');
  const shares = given(flags, 'cpu-shares');
  const cpusetCpus = given(flags, 'cpuset-cpus');
  const cpusetMems = given(flags, 'cpuset-mems');
  const cpu: NonNullable<Resources['cpu']> = {};
  if (cpus !== undefined) {
    if (quota !== undefined || period !== undefined) throw invalid('--cpus: conflicts with --cpu-quota and --cpu-period (it sets both)', { field: '--cpus' });
    const n = /^\d+(\.\d+)?$/.test(cpus.trim()) ? Number(cpus) : NaN;
    if (!(n >= 0.01 && n <= host.cpus.size)) throw invalid(`--cpus ${quote(cpus)}: expected 0.01 to ${host.cpus.size} (the CPUs of this machine)`, { field: '--cpus' });
    cpu.period = CPU_PERIOD;
    cpu.quota = Math.round(n * CPU_PERIOD);
  }
  if (quota !== undefined) {
    const q = integer('--cpu-quota', quota, -1);
    if (q !== -1 && q < 1000) throw invalid(`--cpu-quota ${quote(quota)}: at least 1000 (1 ms), or -1 for none`, { field: '--cpu-quota' });
    cpu.quota = q;
  }
  if (period !== undefined) cpu.period = integer('--cpu-period', period, 1000, 1_000_000);
  if (shares !== undefined) cpu.shares = integer('--cpu-shares', shares, 2, 262_144);
  if (cpusetCpus !== undefined) cpu.cpus = cpuset('--cpuset-cpus', cpusetCpus, host.cpus, 'CPU');
  if (cpusetMems !== undefined) cpu.mems = cpuset('--cpuset-mems', cpusetMems, host.mems, 'memory node');
  if (Object.keys(cpu).length) r.cpu = cpu;

  const pids = given(flags, 'pids-limit');
  if (pids !== undefined) {
    const n = integer('--pids-limit', pids, -1);
    // docker: 0 and -1 are no limit; a run without a limit needs nothing written.
    if (n > 0 || mode === 'update') r.pids = { limit: n > 0 ? n : -1 };
  }
  return r;
}

/** `--ulimit nofile=1024:2048` -> RLIMIT_NOFILE soft 1024, hard 2048 (one value: both). */
export function parseUlimit(value: string): Rlimit {
  const flag = '--ulimit';
  const m = /^([a-z]+)=([^:]+)(?::(.+))?$/.exec(value.trim());
  if (!m) throw invalid(`${flag} ${quote(value)}: expected NAME=SOFT[:HARD]`, { field: flag });
  const type = `RLIMIT_${m[1]!.toUpperCase()}`;
  if (RLIMIT_NUMBERS[type] === undefined) {
    const names = Object.keys(RLIMIT_NUMBERS).map((n) => n.slice(7).toLowerCase());
    throw invalid(`${flag} ${quote(value)}: unknown limit ${quote(m[1]!)} (one of ${names.join(', ')})`, { field: flag });
  }
  const num = (s: string): number => {
    if (s === '-1' || s === 'unlimited') return RLIM_INFINITY_JSON;
    if (!/^\d+$/.test(s)) throw invalid(`${flag} ${quote(value)}: ${quote(s)} is not a number (or -1, unlimited)`, { field: flag });
    return Number(s);
  };
  const soft = num(m[2]!);
  const hard = m[3] === undefined ? soft : num(m[3]);
  if (soft > hard) throw invalid(`${flag} ${quote(value)}: the soft limit must not be above the hard limit`, { field: flag });
  return { type, soft, hard };
}

export function processLimitsFromFlags(flags: Flags): ProcessLimits {
  const seen = new Set<string>();
  const rlimits = (Array.isArray(flags.ulimit) ? (flags.ulimit as string[]) : []).map((v) => {
    const r = parseUlimit(v);
    if (seen.has(r.type)) throw invalid(`--ulimit ${quote(v)}: ${r.type.slice(7).toLowerCase()} is given twice`, { field: '--ulimit' });
    seen.add(r.type);
    return r;
  });
  const oom = given(flags, 'oom-score-adj');
  return { rlimits, ...(oom !== undefined ? { oomScoreAdj: integer('--oom-score-adj', oom, -1000, 1000) } : {}) };
}

/** Sets the limits on a spec: resources merged into linux.resources, a flag's rlimit replacing the base one of its type. */
export function applyLimits(spec: { process?: { rlimits?: Rlimit[]; oomScoreAdj?: number }; linux?: { resources?: Resources } }, resources: Resources, limits: ProcessLimits): void {
  if (Object.keys(resources).length) {
    const linux = (spec.linux ??= {});
    linux.resources = { ...(linux.resources ?? {}), ...resources };
  }
  const process = (spec.process ??= {});
  if (limits.rlimits.length) {
    const types = new Set(limits.rlimits.map((r) => r.type));
    process.rlimits = [...(process.rlimits ?? []).filter((r) => !types.has(r.type)), ...limits.rlimits];
  }
  if (limits.oomScoreAdj !== undefined) process.oomScoreAdj = limits.oomScoreAdj;
}
