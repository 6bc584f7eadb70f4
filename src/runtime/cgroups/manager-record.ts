// What a cgroup manager needs to find a container's cgroups again from another process
// (`berth-runtime delete` runs long after `create`): kept in the container's state file.
import { posix } from 'node:path';
import { invalid } from '../../oci/errors.ts';

export interface CgroupManagerRecordV1 {
  version: 1;
  mode: 'v1';
  /** Controller (or 'name=systemd', 'unified' on a hybrid host) -> cgroup directory. */
  paths: Record<string, string>;
  /** Controller -> mountpoint of its hierarchy. */
  mountpoints: Record<string, string>;
  /** Parent directories that `create` made (removed again by `destroy` when empty). */
  createdParents: string[];
}

export interface CgroupManagerRecordV2 {
  version: 1;
  mode: 'v2';
  path: string;
  mountpoint: string;
  createdParents: string[];
}

export type CgroupManagerRecord = CgroupManagerRecordV1 | CgroupManagerRecordV2;

const FIELD = 'cgroup';

function cleanAbsolute(value: unknown, what: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || posix.normalize(value) !== value || value.includes('\0')) {
    throw invalid(`${what} in the saved cgroup record must be a clean absolute path, got ${JSON.stringify(value)}`, { field: FIELD });
  }
  return value;
}

function below(dir: string, mountpoint: string, what: string): string {
  if (!dir.startsWith(`${mountpoint}/`)) {
    throw invalid(`${what} ${dir} in the saved cgroup record is not below its mountpoint ${mountpoint}`, { field: FIELD });
  }
  return dir;
}

function stringMap(value: unknown, what: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${what} in the saved cgroup record must be an object`, { field: FIELD });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = cleanAbsolute(v, `${what}.${k}`);
  return out;
}

function parents(value: unknown, under: string[]): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid('createdParents in the saved cgroup record must be a list', { field: FIELD });
  return value.map((p, i) => {
    const dir = cleanAbsolute(p, `createdParents[${i}]`);
    if (!under.some((m) => dir.startsWith(`${m}/`))) {
      throw invalid(`createdParents[${i}] ${dir} in the saved cgroup record is not below a cgroup mountpoint`, { field: FIELD });
    }
    return dir;
  });
}

/**
 * Checks a record read back from a state file. The paths end up in rmdir and writes, so a record
 * that points outside the cgroup mountpoints is refused.
 */
export function parseCgroupManagerRecord(value: unknown): CgroupManagerRecord {
  if (typeof value !== 'object' || value === null) throw invalid('the saved cgroup record must be an object', { field: FIELD });
  const r = value as Record<string, unknown>;
  if (r.version !== 1) throw invalid(`unsupported cgroup record version ${JSON.stringify(r.version)}`, { field: FIELD });
  if (r.mode === 'v1') {
    const paths = stringMap(r.paths, 'paths');
    const mountpoints = stringMap(r.mountpoints, 'mountpoints');
    for (const [controller, dir] of Object.entries(paths)) {
      const mountpoint = mountpoints[controller];
      if (!mountpoint) throw invalid(`no mountpoint is saved for cgroup controller ${controller}`, { field: FIELD });
      below(dir, mountpoint, `paths.${controller}`);
    }
    return { version: 1, mode: 'v1', paths, mountpoints, createdParents: parents(r.createdParents, Object.values(mountpoints)) };
  }
  if (r.mode === 'v2') {
    const mountpoint = cleanAbsolute(r.mountpoint, 'mountpoint');
    const path = below(cleanAbsolute(r.path, 'path'), mountpoint, 'path');
    return { version: 1, mode: 'v2', path, mountpoint, createdParents: parents(r.createdParents, [mountpoint]) };
  }
  throw invalid(`unknown cgroup mode ${JSON.stringify(r.mode)} in the saved cgroup record`, { field: FIELD });
}
