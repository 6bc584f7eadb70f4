// `berth run --security-opt`, docker's and podman's spellings: `seccomp=unconfined`,
// `seccomp=FILE` (a profile in docker's or the OCI format), `no-new-privileges[=true|false]`.
// Without a seccomp option the container gets berth's default profile, resolved (like any profile
// file) against its capabilities and this machine when the spec is written.
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { fromSystemError, invalid } from '../../oci/errors.ts';
import type { Spec } from '../../oci/runtime-spec.ts';
import { defaultSeccompProfile } from '../../runtime/seccomp/default-profile.ts';
import { parseDockerProfile, resolveDockerProfile, type DockerSeccompProfile, type SeccompTarget } from '../../runtime/seccomp/docker-profile.ts';

export interface SecurityOptions {
  seccomp: { kind: 'default' } | { kind: 'unconfined' } | { kind: 'profile'; profile: DockerSeccompProfile };
  noNewPrivileges?: boolean;
}

const FIELD = '--security-opt';

/** The options as given (docker also accepts "key:value", the older spelling), profile files read. */
export function readSecurityOptions(values: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { seccomp: { kind: 'default' } };
  for (const raw of values) {
    const m = /^([a-z-]+)(?:[=:](.*))?$/s.exec(raw);
    const [key, value] = m ? [m[1]!, m[2]] : ['', undefined];
    if (key === 'seccomp' && value) out.seccomp = value === 'unconfined' ? { kind: 'unconfined' } : { kind: 'profile', profile: readProfile(value) };
    else if (key === 'no-new-privileges' && (value === undefined || value === 'true' || value === 'false')) out.noNewPrivileges = value !== 'false';
    else throw invalid(`${FIELD} "${raw}": expected seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges[=true|false]`, { field: FIELD });
  }
  return out;
}

/**
 * Sets `linux.seccomp` (or removes it) and no_new_privs on a spec whose capabilities are final,
 * for `host` (this machine unless given).
 */
export function applySecurityOptions(spec: Spec, options: SecurityOptions, host: Omit<SeccompTarget, 'capabilities'> = hostTarget()): void {
  if (options.noNewPrivileges !== undefined) spec.process!.noNewPrivileges = options.noNewPrivileges;
  const target: SeccompTarget = { ...host, capabilities: spec.process?.capabilities?.bounding ?? [] };
  const linux = (spec.linux ??= {});
  delete linux.seccomp;
  if (options.seccomp.kind === 'default') linux.seccomp = defaultSeccompProfile(target);
  else if (options.seccomp.kind === 'profile') {
    const seccomp = resolveDockerProfile(options.seccomp.profile, target);
    if (seccomp) linux.seccomp = seccomp;
  }
}

function hostTarget(): Omit<SeccompTarget, 'capabilities'> {
  return { nodeArch: process.arch, kernelRelease: release() };
}

function readProfile(path: string): DockerSeccompProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fromSystemError(err, `${FIELD} seccomp: read`, path);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(`${FIELD} seccomp: ${path} is not JSON: ${(err as Error).message}`, { field: FIELD, path });
  }
  return parseDockerProfile(json, path);
}
