// Seccomp profiles in docker's format (what `docker run --security-opt seccomp=FILE` and podman
// read; berth's default profile is one too) and their resolution into the OCI `linux.seccomp` of
// one container, as moby does it when it generates a spec:
// - `archMap` picks the entry of the native architecture: it and its sub-architectures become
//   `architectures` (a profile may give `architectures` instead, not both);
// - a rule with `includes` applies only when every listed capability is in the container's
//   bounding set, the architecture is listed, and the kernel is at least `minKernel`; a rule
//   with `excludes` is dropped when any listed capability is held, the architecture is listed,
//   or the kernel is at least `minKernel`;
// - `name` is a one-name `names`.
// An OCI-format profile is a docker profile without those fields and resolves to itself.

import { BerthError, invalid } from '../../oci/errors.ts';
import type { Seccomp, SeccompAction, SeccompArg, SeccompSyscall } from '../../oci/runtime-spec.ts';
import { normalizeSeccomp } from './profile.ts';

export interface DockerSeccompFilter {
  caps?: string[];
  /** Architecture names as docker spells them: amd64, x86, x32, arm64, arm, s390x... */
  arches?: string[];
  /** A kernel release, "4.8". */
  minKernel?: string;
}

export interface DockerSeccompSyscall {
  name?: string;
  names?: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
  includes?: DockerSeccompFilter;
  excludes?: DockerSeccompFilter;
  comment?: string;
}

export interface DockerArchMapEntry {
  architecture: string;
  subArchitectures?: string[] | null;
}

export interface DockerSeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: DockerArchMapEntry[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: DockerSeccompSyscall[];
}

/** What a profile is resolved against: the machine and the container's capabilities. */
export interface SeccompTarget {
  /** Node's process.arch of the machine running the container. */
  nodeArch: string;
  /** The container's bounding set. */
  capabilities: readonly string[];
  /** The host kernel's release (os.release()), e.g. "6.1.0-18-amd64". */
  kernelRelease: string;
}

/** process.arch -> docker's architecture name and the SCMP_ARCH of archMap entries. */
const ARCHES: Record<string, { docker: string; scmp: string }> = {
  x64: { docker: 'amd64', scmp: 'SCMP_ARCH_X86_64' },
  ia32: { docker: 'x86', scmp: 'SCMP_ARCH_X86' },
  arm64: { docker: 'arm64', scmp: 'SCMP_ARCH_AARCH64' },
  arm: { docker: 'arm', scmp: 'SCMP_ARCH_ARM' },
  ppc64: { docker: 'ppc64le', scmp: 'SCMP_ARCH_PPC64LE' },
  s390x: { docker: 's390x', scmp: 'SCMP_ARCH_S390X' },
  riscv64: { docker: 'riscv64', scmp: 'SCMP_ARCH_RISCV64' },
  loong64: { docker: 'loong64', scmp: 'SCMP_ARCH_LOONGARCH64' },
};

/** Pure: the container's `linux.seccomp`, or undefined for a profile that asks for none. */
export function resolveDockerProfile(profile: DockerSeccompProfile, target: SeccompTarget): Seccomp | undefined {
  // As docker: neither a default action nor rules means no filter.
  if (!profile.defaultAction && !(profile.syscalls?.length)) return undefined;
  const arch = ARCHES[target.nodeArch];
  const out: Seccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.architectures?.length) out.architectures = [...profile.architectures];
  const mapped = arch && profile.archMap?.find((a) => a.architecture === arch.scmp);
  if (mapped) out.architectures = [mapped.architecture, ...(mapped.subArchitectures ?? [])];
  if (profile.flags) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;
  const kernel = kernelVersion(target.kernelRelease);
  const held = new Set(target.capabilities);
  out.syscalls = (profile.syscalls ?? [])
    .filter((rule) => applies(rule, arch?.docker, held, kernel))
    .map((rule): SeccompSyscall => ({
      names: rule.names ?? [rule.name!],
      action: rule.action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args?.length ? { args: rule.args.map((a) => ({ ...a })) } : {}),
    }));
  return out;
}

function applies(rule: DockerSeccompSyscall, arch: string | undefined, held: ReadonlySet<string>, kernel: number[]): boolean {
  const ex = rule.excludes ?? {};
  if (arch && ex.arches?.includes(arch)) return false;
  if (ex.caps?.some((c) => held.has(c))) return false;
  if (ex.minKernel && atLeast(kernel, kernelVersion(ex.minKernel))) return false;
  const inc = rule.includes ?? {};
  if (inc.arches?.length && !(arch && inc.arches.includes(arch))) return false;
  if (inc.caps?.some((c) => !held.has(c))) return false;
  if (inc.minKernel && !atLeast(kernel, kernelVersion(inc.minKernel))) return false;
  return true;
}

/** "6.1.0-18-amd64" -> [6, 1, 0]; the numbers before the first character that is not one. */
export function kernelVersion(release: string): number[] {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(release.trim());
  if (!m) throw invalid(`"${release}" is not a kernel version`, { field: 'minKernel' });
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function atLeast(have: number[], want: number[]): boolean {
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

/**
 * Checks the shape of a profile file (docker's or the OCI format): errors name the file and
 * field (`myprofile.json: syscalls[3].includes.caps`).
 */
export function parseDockerProfile(json: unknown, source: string): DockerSeccompProfile {
  const at = (field: string): { field: string } => ({ field: `${source}: ${field}` });
  const obj = (v: unknown, field: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${source}: ${field || 'the profile'} must be an object`, at(field));
    return v as Record<string, unknown>;
  };
  const strings = (v: unknown, field: string): void => {
    if (v === undefined || v === null) return;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw invalid(`${source}: ${field} must be a list of strings`, at(field));
  };
  const p = obj(json, '');
  const noRules = p.syscalls === undefined || p.syscalls === null || (Array.isArray(p.syscalls) && p.syscalls.length === 0);
  // As docker: neither a default action nor rules is a profile that asks for no filter.
  if ((p.defaultAction === undefined || p.defaultAction === '') && noRules) return { ...p, defaultAction: '' } as unknown as DockerSeccompProfile;
  if (typeof p.defaultAction !== 'string' || p.defaultAction === '') throw invalid(`${source}: defaultAction is required (e.g. "SCMP_ACT_ERRNO")`, at('defaultAction'));
  strings(p.architectures, 'architectures');
  strings(p.flags, 'flags');
  if (p.archMap !== undefined && p.archMap !== null) {
    if (!Array.isArray(p.archMap)) throw invalid(`${source}: archMap must be a list`, at('archMap'));
    p.archMap.forEach((e, i) => {
      const entry = obj(e, `archMap[${i}]`);
      if (typeof entry.architecture !== 'string') throw invalid(`${source}: archMap[${i}].architecture must be a string`, at(`archMap[${i}].architecture`));
      strings(entry.subArchitectures, `archMap[${i}].subArchitectures`);
    });
    if (Array.isArray(p.architectures) && p.architectures.length && p.archMap.length) {
      throw invalid(`${source}: give either "architectures" or "archMap", not both`, at('archMap'));
    }
  }
  const syscalls = p.syscalls ?? [];
  if (!Array.isArray(syscalls)) throw invalid(`${source}: syscalls must be a list`, at('syscalls'));
  syscalls.forEach((s, i) => {
    const f = `syscalls[${i}]`;
    const rule = obj(s, f);
    if (rule.name !== undefined && rule.names !== undefined) throw invalid(`${source}: ${f} gives both "name" and "names"; use one`, at(f));
    if (rule.name !== undefined && typeof rule.name !== 'string') throw invalid(`${source}: ${f}.name must be a string`, at(`${f}.name`));
    if (rule.name === undefined) {
      strings(rule.names, `${f}.names`);
      if (!Array.isArray(rule.names) || rule.names.length === 0) throw invalid(`${source}: ${f}.names must list at least one syscall`, at(`${f}.names`));
    }
    if (typeof rule.action !== 'string') throw invalid(`${source}: ${f}.action is required`, at(`${f}.action`));
    if (rule.args !== undefined && rule.args !== null && !Array.isArray(rule.args)) throw invalid(`${source}: ${f}.args must be a list`, at(`${f}.args`));
    for (const which of ['includes', 'excludes'] as const) {
      if (rule[which] === undefined || rule[which] === null) continue;
      const filter = obj(rule[which], `${f}.${which}`);
      strings(filter.caps, `${f}.${which}.caps`);
      strings(filter.arches, `${f}.${which}.arches`);
      if (filter.minKernel !== undefined && (typeof filter.minKernel !== 'string' || !/^\d+(\.\d+){0,2}$/.test(filter.minKernel))) {
        throw invalid(`${source}: ${f}.${which}.minKernel must be a kernel version such as "4.8"`, at(`${f}.${which}.minKernel`));
      }
    }
  });
  const profile = p as unknown as DockerSeccompProfile;
  checkRules(profile, source);
  return profile;
}

/**
 * Actions, errno values, operators and argument values, checked by the compiler's own validator
 * one rule at a time, every rule whether or not it applies here; its field names are mapped
 * back to the file's.
 */
function checkRules(profile: DockerSeccompProfile, source: string): void {
  const check = (oci: Seccomp, from: string, to: string): void => {
    try {
      normalizeSeccomp(oci);
    } catch (err) {
      if (!(err instanceof BerthError)) throw err;
      const rename = (text: string): string => text.replaceAll(from, to);
      throw new BerthError(err.kind, `${source}: ${rename(err.message)}`, { ...err.where, field: `${source}: ${rename(err.where.field ?? '')}` });
    }
  };
  const { defaultAction, defaultErrnoRet, architectures, flags, listenerPath, listenerMetadata } = profile;
  check({ defaultAction, defaultErrnoRet, architectures, flags, listenerPath, listenerMetadata }, 'linux.seccomp.', '');
  (profile.archMap ?? []).forEach((entry, i) => {
    check({ defaultAction, architectures: [entry.architecture, ...(entry.subArchitectures ?? [])] }, 'linux.seccomp.architectures', `archMap[${i}]`);
  });
  (profile.syscalls ?? []).forEach((rule, i) => {
    const names = rule.names ?? (rule.name !== undefined ? [rule.name] : []);
    const oci: SeccompSyscall = { names, action: rule.action, ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}), ...(rule.args ? { args: rule.args } : {}) };
    check({ defaultAction: profile.defaultAction, syscalls: [oci] }, 'linux.seccomp.syscalls[0]', `syscalls[${i}]`);
  });
}
