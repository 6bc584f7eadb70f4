// Which seccomp profile a pod or container asks for, from the SecurityProfile message or the
// deprecated `seccomp_profile_path` string (containerd's sputil rules); and the refusal of
// AppArmor and SELinux settings, which this host cannot honour (it runs no LSM).
import { BerthError, invalid, precondition, unimplemented } from '../oci/errors.ts';
import type { Seccomp } from '../oci/runtime-spec.ts';
import type { SELinuxOption, SecurityProfile } from './cri-types.ts';

export type SeccompChoice = { kind: 'unconfined' } | { kind: 'runtime-default' } | { kind: 'localhost'; path: string };

const LOCALHOST_PREFIX = 'localhost/';

function fromPath(path: string, field: string): SeccompChoice {
  switch (path) {
    case '':
      return { kind: 'unconfined' };
    case 'runtime/default':
    case 'docker/default':
      return { kind: 'runtime-default' };
    case 'unconfined':
      return { kind: 'unconfined' };
  }
  if (!path.startsWith(LOCALHOST_PREFIX)) throw invalid(`${field}: invalid profile ${JSON.stringify(path)}`, { field });
  return localhost(path.slice(LOCALHOST_PREFIX.length), field);
}

function localhost(path: string, field: string): SeccompChoice {
  if (!path.startsWith('/') || path.includes('\0')) throw invalid(`${field}: a Localhost seccomp profile must be an absolute path, got ${JSON.stringify(path)}`, { field });
  return { kind: 'localhost', path };
}

/** The seccomp choice; `prefix` is the security context's field path (`config.linux.security_context`). */
export function seccompChoice(profile: SecurityProfile | null | undefined, deprecatedPath: string | undefined, prefix: string): SeccompChoice {
  if (!profile) return fromPath(deprecatedPath ?? '', `${prefix}.seccomp_profile_path`);
  const field = `${prefix}.seccomp`;
  const type = profile.profile_type ?? 'RuntimeDefault';
  const ref = profile.localhost_ref ?? '';
  if (type !== 'Localhost' && ref !== '') throw invalid(`${field}.localhost_ref: only a Localhost profile has a localhost_ref`, { field: `${field}.localhost_ref` });
  switch (type) {
    case 'Unconfined':
      return { kind: 'unconfined' };
    case 'RuntimeDefault':
      return { kind: 'runtime-default' };
    case 'Localhost':
      // containerd trims a stray "localhost/" here too.
      return localhost(ref.startsWith(LOCALHOST_PREFIX) ? ref.slice(LOCALHOST_PREFIX.length) : ref, `${field}.localhost_ref`);
    default:
      throw invalid(`${field}.profile_type: unknown profile type ${JSON.stringify(type)}`, { field: `${field}.profile_type` });
  }
}

/** AppArmor: RuntimeDefault and Unconfined mean nothing without AppArmor; a named profile is refused. */
export function checkAppArmor(profile: SecurityProfile | null | undefined, deprecated: string | undefined, prefix: string): void {
  const field = profile ? `${prefix}.apparmor` : `${prefix}.apparmor_profile`;
  const type = profile ? (profile.profile_type ?? 'RuntimeDefault') : undefined;
  const legacy = deprecated ?? '';
  if (type === 'Localhost' || (!profile && legacy.startsWith(LOCALHOST_PREFIX))) {
    throw unimplemented(`${field}: AppArmor is not available on this host, so the profile ${JSON.stringify(profile?.localhost_ref || legacy)} cannot be applied`, { field });
  }
  if (type !== undefined && type !== 'RuntimeDefault' && type !== 'Unconfined') {
    throw invalid(`${field}.profile_type: unknown profile type ${JSON.stringify(type)}`, { field: `${field}.profile_type` });
  }
  if (!profile && legacy !== '' && legacy !== 'runtime/default' && legacy !== 'unconfined') {
    throw invalid(`${field}: invalid profile ${JSON.stringify(legacy)}`, { field });
  }
}

/** SELinux: any label is refused, since the host does not run SELinux. */
export function checkSelinux(options: SELinuxOption | null | undefined, prefix: string): void {
  if (!options) return;
  const set = (['user', 'role', 'type', 'level'] as const).filter((k) => (options[k] ?? '') !== '');
  if (set.length > 0) {
    const field = `${prefix}.selinux_options`;
    throw unimplemented(`${field}: SELinux is not enabled on this host; cannot apply ${set.map((k) => `${k}=${options[k]}`).join(', ')}`, { field });
  }
}

export interface SeccompProfiles {
  /** berth's RuntimeDefault profile. */
  runtimeDefault?: Seccomp;
  /** Localhost profiles read from disk beforehand, keyed by their absolute path. */
  localhost: Record<string, Seccomp>;
}

/** The profile for `linux.seccomp`, or undefined for none; `field` names the request field in errors. */
export function seccompProfile(choice: SeccompChoice, profiles: SeccompProfiles, field: string): Seccomp | undefined {
  switch (choice.kind) {
    case 'unconfined':
      return undefined;
    case 'runtime-default':
      if (!profiles.runtimeDefault) throw precondition(`${field}: RuntimeDefault seccomp was asked for, but berthd has no default profile configured`, { field });
      return profiles.runtimeDefault;
    case 'localhost': {
      const profile = profiles.localhost[choice.path];
      if (!profile) throw new BerthError('internal', `${field}: the Localhost profile ${choice.path} was not read before the spec was made`, { field, path: choice.path });
      return profile;
    }
  }
}
