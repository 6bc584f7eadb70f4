// The part of a plan that turns a set-up process into the configured one: rlimits, no_new_privs,
// umask, capabilities, user and groups, cwd, seccomp, and the executable lookup. Shared by
// container init (plan-compiler.ts) and `exec` (exec-plan.ts).

import { invalid } from '../oci/errors.ts';
import type { Process, Seccomp } from '../oci/runtime-spec.ts';
import type { PlanOp } from '../sys/plan-ops.ts';
import { capabilityMasks, capabilityNames } from './capabilities.ts';
import type { HostFacts } from './plan-compiler.ts';
import { rlimitNumber, rlimitValue } from './rlimits.ts';
import { compileSeccomp, seccompConfigured } from './seccomp/index.ts';
import { cachedSeccompFilter } from './seccomp-cache.ts';

export type Add = (op: PlanOp, origin?: string) => void;

export interface ProcessSetup {
  args: string[];
  env: string[];
  /** With no_new_privs the filter goes as close to execve as possible (fewer syscalls for
   *  profiles to allow): the caller places it. Without, it is already in the plan, loaded while
   *  the process still holds CAP_SYS_ADMIN. */
  lateSeccomp: PlanOp | null;
  /** Capability names the kernel or berth doesn't know: dropped, for the caller to warn about. */
  ignoredCapabilities: string[];
}

/** `keepFds`: fds 3..3+keepFds-1 stay open across execve (runc --preserve-fds). */
export function compileProcessSetup(process: Process, seccompProfile: Seccomp | undefined, host: HostFacts, add: Add, keepFds: number, field = 'process'): ProcessSetup {
  (process.rlimits ?? []).forEach((r, i) => {
    const f = `${field}.rlimits[${i}]`;
    add({ kind: 'setrlimit', resource: rlimitNumber(r.type, `${f}.type`), name: r.type, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) }, f);
  });
  if (process.noNewPrivileges) add({ kind: 'no-new-privs' }, `${field}.noNewPrivileges`);
  add({ kind: 'umask', mask: process.user.umask ?? 0o022 }, `${field}.user.umask`);

  const seccomp = seccompConfigured(seccompProfile) ? seccompOp(seccompProfile) : null;
  // Before any filter: a profile need not allow close_range (or any call the clean-up makes).
  add({ kind: 'close-fds', keep: keepFds }, keepFds ? '--preserve-fds' : undefined);
  if (seccomp && !process.noNewPrivileges) add(seccomp, 'linux.seccomp');

  // No capabilities object means no capabilities (as runc), not the runtime's own.
  const ignoredCapabilities: string[] = [];
  const caps = capabilityMasks(process.capabilities ?? {}, host.lastCap, `${field}.capabilities`, ignoredCapabilities);
  {
    const missing = (caps.bounding | caps.permitted | caps.effective | caps.inheritable | caps.ambient) & ~host.heldCaps;
    if (missing) invalidCaps(missing, `${field}.capabilities`);
    // The kernel only keeps an ambient capability that is also permitted and inheritable; runc
    // skips the others the same way.
    caps.ambient &= caps.permitted & caps.inheritable;
    add({ kind: 'capset', phase: 'bounding', ...caps, lastCap: host.lastCap }, `${field}.capabilities.bounding`);
    if (process.user.uid !== 0) add({ kind: 'keep-caps' }, `${field}.capabilities`);
  }
  const { uid, gid } = process.user;
  add({ kind: 'setgroups', gids: process.user.additionalGids ?? [] }, `${field}.user.additionalGids`);
  add({ kind: 'setgid', gid }, `${field}.user.gid`);
  add({ kind: 'setuid', uid }, `${field}.user.uid`);
  add({ kind: 'capset', phase: 'sets', ...caps, lastCap: host.lastCap }, `${field}.capabilities`);
  add({ kind: 'chdir', path: process.cwd }, `${field}.cwd`);

  // As runc: a process without HOME gets the user's home from the container's passwd, else "/".
  const env = [...(process.env ?? [])];
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${host.home ?? '/'}`);
  const args = process.args!;
  const pathVar = env.findLast((e) => e.startsWith('PATH='))?.slice(5) ?? '';
  add({ kind: 'resolve-exec', file: args[0]!, searchPath: pathVar }, `${field}.args[0]`);
  return { args, env, lateSeccomp: seccomp && process.noNewPrivileges ? seccomp : null, ignoredCapabilities };
}

function seccompOp(profile: Seccomp): PlanOp {
  const { flags, program } = cachedSeccompFilter(profile, () => {
    const compiled = compileSeccomp(profile);
    return { flags: compiled.flags, program: compiled.program };
  });
  return { kind: 'seccomp', flags, program };
}

function invalidCaps(missing: bigint, field: string): never {
  throw invalid(`${field}: the runtime itself does not hold ${capabilityNames(missing).join(', ')}, so the container can't get it`, {
    field,
    errno: 'EPERM',
  });
}
