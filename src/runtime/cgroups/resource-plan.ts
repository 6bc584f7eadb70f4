// `linux.resources` + cgroup mode -> the ordered list of cgroup file writes (pure). Order matters:
// the kernel checks each write against the values already in place (memory vs memsw limits, cfs
// period vs quota, cpuset before tasks), so the plan follows runc's order per controller.
import type { Resources } from '../../oci/runtime-spec.ts';
import type { CgroupMode } from './cgroup-host.ts';
import { planV1 } from './resource-plan-v1.ts';
import { planV2 } from './resource-plan-v2.ts';

export interface CgroupWrite {
  /** The v1 controller whose hierarchy holds the file; on v2 the controller the file belongs to. */
  controller: string;
  file: string;
  value: string;
  /** The config field the value comes from, for error messages. */
  field: string;
  /** The kernel may refuse this write with EINVAL for now; a later write in the plan repeats it. */
  tolerateEinval?: boolean;
  /** Skip the write when the file does not exist (a feature the kernel may lack, e.g. swap accounting). */
  optional?: boolean;
  /** Read the file back: the kernel silently clamps some values (cpu.shares). */
  verify?: boolean;
}

export interface CgroupPlan {
  writes: CgroupWrite[];
  /** Requested settings that have no effect in this mode (runc ignores them silently). */
  warnings: string[];
  /** v2: the device rules as a cgroup device eBPF program (struct bpf_insn bytes) to attach. */
  deviceProgram?: Uint8Array;
}

/** Facts about the target cgroup that change which files or which order runc would use. */
export interface PlanContext {
  /** v1: memory.limit_in_bytes now (an update); undefined for a new cgroup (unlimited). */
  currentMemoryLimit?: bigint;
  /** v2: memory.current now, for memory.checkBeforeUpdate. */
  currentMemoryUsage?: bigint;
  /** v1: whether memory.memsw.* exists (swap accounting enabled); default true. */
  memswAvailable?: boolean;
  /** v1: 'blkio.bfq.weight' when the BFQ scheduler replaces CFQ's blkio.weight; default 'blkio.weight'. */
  blkioWeightFile?: 'blkio.weight' | 'blkio.bfq.weight';
  /** v2: whether io.bfq.weight exists (BFQ); otherwise weight goes to io.weight, converted. */
  ioBfqWeight?: boolean;
}

export function planCgroupWrites(resources: Resources | undefined, mode: CgroupMode, context: PlanContext = {}): CgroupPlan {
  const r = resources ?? {};
  return mode === 'v1' ? planV1(r, context) : planV2(r, context);
}

/** The controllers a plan needs (to check they are mounted before writing anything). */
export function controllersOf(plan: CgroupPlan): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of plan.writes) if (!out.has(w.controller)) out.set(w.controller, w.field);
  return out;
}
