// The container's uid, gid and supplementary groups from its security context and the image's
// `User`, resolved against the image's own /etc/passwd and /etc/group (facts read beforehand).
// containerd's rules: run_as_username or run_as_user (with run_as_group) override the image
// User; with the Merge policy the groups of that user in /etc/group, the primary gid and the
// request's supplemental_groups are merged, sorted; Strict uses the request's groups only.
import { BerthError, invalid } from '../oci/errors.ts';
import type { User } from '../oci/runtime-spec.ts';
import { resolveUserSpec, type GroupEntry, type PasswdEntry } from '../image/image-user.ts';
import type { LinuxContainerSecurityContext, LinuxSandboxSecurityContext } from './cri-types.ts';
import { ID_RANGE, int64 } from './int64.ts';

const SC = 'config.linux.security_context';
/** NGROUPS_MAX */
const MAX_GROUPS = 65536;

/** "user[:group]" from the security context, or '' when it names no user (containerd's GenerateUserString). */
export function requestedUser(sc: LinuxContainerSecurityContext | LinuxSandboxSecurityContext | null | undefined, prefix = SC): string {
  const username = sc && 'run_as_username' in sc ? (sc.run_as_username ?? '') : '';
  const uid = sc?.run_as_user ? String(int64(sc.run_as_user.value, `${prefix}.run_as_user`, ID_RANGE)) : '';
  const gid = sc?.run_as_group ? String(int64(sc.run_as_group.value, `${prefix}.run_as_group`, ID_RANGE)) : '';
  if (username !== '' && uid !== '') {
    throw invalid(`${prefix}: run_as_user and run_as_username are both set; only one may be`, { field: `${prefix}.run_as_username` });
  }
  if (username.includes(':') || username.includes('\0')) {
    throw invalid(`${prefix}.run_as_username: ${JSON.stringify(username)} is not a user name`, { field: `${prefix}.run_as_username` });
  }
  const user = username || uid;
  if (user === '' && gid !== '') {
    throw invalid(`${prefix}.run_as_group: run_as_group needs run_as_user or run_as_username`, { field: `${prefix}.run_as_group` });
  }
  return gid === '' ? user : `${user}:${gid}`;
}

function imageGroups(userPart: string, passwd: PasswdEntry[] | undefined, group: GroupEntry[] | undefined): number[] {
  if (!group) return [];
  let name = userPart;
  if (/^[0-9]+$/.test(userPart)) {
    const entry = passwd?.find((p) => p.uid === Number(userPart));
    if (!entry) return [];
    name = entry.name;
  }
  // containerd skips the group named like the user (its primary group, usually).
  return group.filter((g) => g.name !== name && g.members.includes(name)).map((g) => g.gid);
}

const sortedUnique = (ids: number[]): number[] => [...new Set(ids)].sort((a, b) => a - b);

export interface UserFacts {
  imageUser?: string;
  etcPasswd?: PasswdEntry[];
  etcGroup?: GroupEntry[];
}

export function containerUser(sc: LinuxContainerSecurityContext | null | undefined, facts: UserFacts): User {
  const fromRequest = requestedUser(sc);
  const spec = fromRequest || (facts.imageUser ?? '');
  const field = fromRequest ? (sc?.run_as_username ? `${SC}.run_as_username` : `${SC}.run_as_user`) : 'image.config.User';
  let resolved;
  try {
    resolved = resolveUserSpec(spec, facts.etcPasswd, facts.etcGroup);
  } catch (err) {
    if (err instanceof BerthError) throw invalid(`${field}: ${err.message}`, { field });
    throw err;
  }
  const supplemental = (sc?.supplemental_groups ?? []).map((g, i) => int64(g, `${SC}.supplemental_groups[${i}]`, ID_RANGE));
  const policy = sc?.supplemental_groups_policy ?? 'Merge';
  let additionalGids: number[];
  if (policy === 'Merge' || policy === 0) {
    const userPart = (spec.split(':')[0] ?? '') || '0';
    additionalGids = sortedUnique([resolved.gid, ...imageGroups(userPart, facts.etcPasswd, facts.etcGroup), ...supplemental]);
  } else if (policy === 'Strict' || policy === 1) {
    additionalGids = sortedUnique(supplemental);
  } else {
    throw invalid(`${SC}.supplemental_groups_policy: unknown policy ${JSON.stringify(policy)}`, { field: `${SC}.supplemental_groups_policy` });
  }
  if (additionalGids.length > MAX_GROUPS) throw invalid(`${SC}.supplemental_groups: more than ${MAX_GROUPS} groups`, { field: `${SC}.supplemental_groups` });
  // OCI's `username` is for Windows; the name was only needed to find the ids.
  return { uid: resolved.uid, gid: resolved.gid, additionalGids };
}
