// linux.maskedPaths and linux.readonlyPaths. The kubelet sends its lists for the Default proc
// mount; they are used verbatim. When a request carries none, berth keeps containerd's default
// spec lists (containerd's CRI plugin empties them instead, see containerd#5029): proto3 cannot
// tell "none" from "empty", and the one kubelet case that sends empty lists, the Unmasked proc
// mount, needs a user namespace, which berthd refuses anyway. Privileged containers get neither.
import { defaultSpec } from '../runtime/default-spec.ts';
import { containerPath } from './container-paths.ts';

/** containerd's defaults (pkg/oci/spec.go), which add the powercap interface to runc's list. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [...(defaultSpec().linux?.maskedPaths ?? []), '/sys/devices/virtual/powercap'];
export const DEFAULT_READONLY_PATHS: readonly string[] = [...(defaultSpec().linux?.readonlyPaths ?? [])];

const FIELD = 'config.linux.security_context';

function list(requested: string[] | undefined, defaults: readonly string[], key: string): string[] {
  const given = requested ?? [];
  if (given.length === 0) return [...defaults];
  return given.map((p, i) => containerPath(p, `${FIELD}.${key}[${i}]`));
}

export function maskedAndReadonlyPaths(masked: string[] | undefined, readonly: string[] | undefined, privileged: boolean): { maskedPaths: string[]; readonlyPaths: string[] } {
  if (privileged) return { maskedPaths: [], readonlyPaths: [] };
  return { maskedPaths: list(masked, DEFAULT_MASKED_PATHS, 'masked_paths'), readonlyPaths: list(readonly, DEFAULT_READONLY_PATHS, 'readonly_paths') };
}
