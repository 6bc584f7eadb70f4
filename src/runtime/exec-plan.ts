// A plan that starts one more process inside a running container (`exec`): join every namespace
// of its init, fork into the pid namespace, join the cgroup (sync "clone"), then set the process
// up exactly as the container's own (process-plan.ts).

import { unimplemented } from '../oci/errors.ts';
import type { NamespaceType, Process, Seccomp } from '../oci/runtime-spec.ts';
import type { Plan, PlanOp } from '../sys/plan-ops.ts';
import type { HostFacts } from './plan-compiler.ts';
import { SYNC } from './plan-compiler.ts';
import { compileProcessSetup } from './process-plan.ts';
import { joinNamespacesOf } from './join-plan.ts';

export interface ExecInput {
  /** The container's init. */
  pid: number;
  /** Namespace types of the container (new or joined: all are joined through /proc/<pid>/ns). */
  namespaces: readonly NamespaceType[];
  process: Process;
  seccomp?: Seccomp;
  consoleSocket?: string;
  detach?: boolean;
  preserveFds?: number;
  host: HostFacts;
}

export function compileExecPlan(input: ExecInput): Plan {
  const { process } = input;
  if (process.apparmorProfile) throw unimplemented(`process.apparmorProfile: this kernel has no LSM enabled; "${process.apparmorProfile}" can't be applied`, { field: 'process.apparmorProfile' });
  if (process.selinuxLabel) throw unimplemented(`process.selinuxLabel: this kernel has no LSM enabled; "${process.selinuxLabel}" can't be applied`, { field: 'process.selinuxLabel' });
  const plan: Plan = [];
  const add = (op: PlanOp, origin?: string): void => {
    plan.push(origin ? { ...op, origin } : op);
  };
  if (process.terminal) add({ kind: 'connect-console', path: input.consoleSocket ?? '' }, '--console-socket');
  plan.push(...joinNamespacesOf(input.pid, input.namespaces, (type) => `namespace ${type}`));
  // A container without a mount namespace is chrooted: take init's root.
  if (!input.namespaces.includes('mount')) add({ kind: 'chroot', path: `/proc/${input.pid}/root` }, 'root.path');
  add({ kind: 'clone', namespaces: [], wait: !input.detach });
  add({ kind: 'sync', point: SYNC.clone, last: false });
  add({ kind: 'setsid' });
  if (process.terminal) {
    add({ kind: 'console', rows: process.consoleSize?.height ?? 0, cols: process.consoleSize?.width ?? 0, bindConsole: false }, 'process.terminal');
  }
  const { args, env, lateSeccomp } = compileProcessSetup(process, input.seccomp, input.host, add, input.preserveFds ?? 0);
  add({ kind: 'sync', point: SYNC.created, last: true });
  if (lateSeccomp) add(lateSeccomp, 'linux.seccomp');
  add({ kind: 'execve', args, env }, 'process.args');
  return plan;
}
