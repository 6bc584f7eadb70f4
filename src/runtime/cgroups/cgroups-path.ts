// `linux.cgroupsPath` -> one directory per hierarchy, interpreted as runc's cgroupfs driver does
// (libcontainer/cgroups/fs/paths.go, fs2/defaultpath.go, specconv CreateCgroupConfig):
//
// - absolute ("/a/b"): relative to the root of each hierarchy: <mountpoint>/a/b.
// - relative ("a/b"): relative to the cgroup this runtime process is in (/proc/self/cgroup), per
//   hierarchy. On a v2 host runc uses the *parent* of its own cgroup, because its own cgroup
//   already has processes and cgroup v2 forbids enabling controllers for children of a cgroup
//   with processes ("no internal processes"); berth does the same.
// - empty: the container id, as a *relative* path. runc docs suggest "/<id>", but runc 1.1.5 on
//   this host puts a container without cgroupsPath at <own cgroup>/<id> (checked with
//   `runc create` on the hybrid v1 host: memory:/process_api/<x>/<id>, others /<id>).
//
// Differences from runc, on purpose: runc silently clamps ".." (CleanPath); berth refuses it, and a
// path naming the hierarchy root itself. The systemd driver form "slice:prefix:name" is refused
// as unimplemented.
import { posix } from 'node:path';
import { invalid, precondition, unimplemented } from '../../oci/errors.ts';
import type { CgroupHierarchy, CgroupHost } from './cgroup-host.ts';

const FIELD = 'linux.cgroupsPath';

export interface CgroupsPathSpec {
  kind: 'absolute' | 'relative';
  /** Normalized components joined with '/', never empty, never containing '..'. */
  inner: string;
}

export interface CgroupsPathOptions {
  /** The runtime was asked for the systemd cgroup driver (runc --systemd-cgroup). */
  systemdCgroup?: boolean;
}

function isSystemdForm(path: string): boolean {
  return !path.includes('/') && path.split(':').length === 3;
}

function checkId(id: string): void {
  if (!id || id === '.' || id === '..' || id.includes('/') || id.includes('\0')) {
    throw invalid(`container id ${JSON.stringify(id)} cannot name a cgroup`, { field: 'id' });
  }
}

/** Interprets `linux.cgroupsPath` for container `id` (pure). */
export function parseCgroupsPath(cgroupsPath: string | undefined, id: string, options: CgroupsPathOptions = {}): CgroupsPathSpec {
  if (options.systemdCgroup) {
    throw unimplemented('the systemd cgroup driver is not supported; berth manages cgroupfs directly', { field: FIELD });
  }
  if (cgroupsPath === undefined || cgroupsPath === '') {
    checkId(id);
    return { kind: 'relative', inner: id };
  }
  if (typeof cgroupsPath !== 'string' || cgroupsPath.includes('\0')) {
    throw invalid(`${FIELD} must be a string without NUL bytes`, { field: FIELD });
  }
  if (isSystemdForm(cgroupsPath)) {
    throw unimplemented(
      `${FIELD} ${JSON.stringify(cgroupsPath)} is in the systemd "slice:prefix:name" form; the systemd cgroup driver is not supported, use a path such as /berth/<id>`,
      { field: FIELD },
    );
  }
  const parts = cgroupsPath.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw invalid(`${FIELD} ${JSON.stringify(cgroupsPath)} must not contain ".." components`, { field: FIELD });
  }
  if (parts.length === 0) {
    throw invalid(`${FIELD} ${JSON.stringify(cgroupsPath)} names the hierarchy root; it must name a cgroup below it`, { field: FIELD });
  }
  return { kind: cgroupsPath.startsWith('/') ? 'absolute' : 'relative', inner: parts.join('/') };
}

/** The directory of this process's own cgroup on a hierarchy, as seen through its mountpoint. */
export function ownCgroupDir(h: CgroupHierarchy): string {
  const root = h.mountRoot === '/' ? '' : h.mountRoot.replace(/\/$/, '');
  const own = h.ownCgroup;
  if (own !== root && !own.startsWith(`${root}/`) && root !== '') {
    throw precondition(
      `this process's cgroup ${own} is outside the part ${h.mountRoot} of the hierarchy mounted at ${h.mountpoint}; use an absolute ${FIELD}`,
      { field: FIELD, path: h.mountpoint },
    );
  }
  const dir = posix.join(h.mountpoint, own.slice(root.length));
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

/**
 * The cgroup directory on one hierarchy. `parentOfOwn` selects runc's cgroup v2 rule (relative
 * paths hang off the parent of the runtime's own cgroup).
 */
export function cgroupDirOn(h: CgroupHierarchy, spec: CgroupsPathSpec, parentOfOwn = false): string {
  if (spec.kind === 'absolute') return posix.join(h.mountpoint, spec.inner);
  let base = ownCgroupDir(h);
  if (parentOfOwn && base.startsWith(`${h.mountpoint}/`)) base = posix.dirname(base);
  return posix.join(base, spec.inner);
}

export interface ResolvedCgroupPaths {
  /** Controller (or 'unified', 'name=systemd') -> cgroup directory. Co-mounted controllers share a directory. */
  paths: Record<string, string>;
  /** Controller -> mountpoint of its hierarchy (the limit for walking up, e.g. cpuset parents). */
  mountpoints: Record<string, string>;
}

export interface ResolveOptions {
  /** Allow a v1 host without the devices controller (runc refuses by default, for security). */
  skipDevices?: boolean;
}

/** Resolves the per-hierarchy cgroup directories of a container on `host` (pure). */
export function resolveCgroupPaths(host: CgroupHost, spec: CgroupsPathSpec, options: ResolveOptions = {}): ResolvedCgroupPaths {
  const paths: Record<string, string> = {};
  const mountpoints: Record<string, string> = {};
  if (host.mode === 'v2') {
    paths.unified = cgroupDirOn(host.unified, spec, true);
    mountpoints.unified = host.unified.mountpoint;
    return { paths, mountpoints };
  }
  for (const h of host.hierarchies) {
    const dir = cgroupDirOn(h, spec);
    for (const c of h.controllers) {
      paths[c] = dir;
      mountpoints[c] = h.mountpoint;
    }
  }
  if (host.unified) {
    paths.unified = cgroupDirOn(host.unified, spec);
    mountpoints.unified = host.unified.mountpoint;
  }
  if (!paths.devices && !options.skipDevices) {
    throw precondition('the devices cgroup controller is not mounted; refusing to run a container without device confinement', {
      path: host.root,
    });
  }
  return { paths, mountpoints };
}
