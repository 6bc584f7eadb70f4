// A plan that runs a program inside the namespaces of a running container: used for
// createContainer hooks (and `exec`). Namespace files are opened from the host's /proc, so the
// mount namespace is joined last.

import type { NamespaceType } from '../oci/runtime-spec.ts';
import { NS_PROC_NAME } from '../sys/kernel-constants.ts';
import type { Plan, PlanOp } from '../sys/plan-ops.ts';

const ORDER: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'mount'];

export interface JoinProgram {
  path: string;
  args: string[];
  env: string[];
}

/** setns into each of the namespaces of process pid, in the order that works. */
export function joinNamespacesOf(pid: number, namespaces: readonly NamespaceType[], origin: (type: NamespaceType) => string): PlanOp[] {
  return ORDER.filter((type) => namespaces.includes(type)).map((type) => ({
    kind: 'setns' as const,
    ns: type,
    path: `/proc/${pid}/ns/${NS_PROC_NAME[type]}`,
    origin: origin(type),
  }));
}

export function compileJoinPlan(pid: number, namespaces: readonly NamespaceType[], program: JoinProgram, origin: string): Plan {
  const plan: Plan = joinNamespacesOf(pid, namespaces, () => origin);
  plan.push({ kind: 'clone', namespaces: [], wait: true, origin });
  plan.push({ kind: 'resolve-exec', file: program.path, searchPath: '', origin });
  plan.push({ kind: 'close-fds', keep: 0, origin });
  plan.push({ kind: 'execve', args: program.args, env: program.env, origin });
  return plan;
}
