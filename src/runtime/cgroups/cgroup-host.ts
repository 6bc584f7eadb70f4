// What the host's cgroup filesystems look like: v1 (one hierarchy per controller or group of
// controllers, optionally plus a cgroup2 "unified" mount = hybrid) or v2 (one unified hierarchy).
// Decided from /proc/self/mountinfo and /proc/self/cgroup text, never guessed.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fromSystemError, notFound } from '../../oci/errors.ts';

export type CgroupMode = 'v1' | 'v2';

/** One mounted cgroup v1 hierarchy (or the cgroup2 mount of a hybrid host). */
export interface CgroupHierarchy {
  /** Controllers on this hierarchy, e.g. ['cpu', 'cpuacct'], ['name=systemd'], or [] for hybrid's unified. */
  controllers: string[];
  /** Where it is mounted, e.g. /sys/fs/cgroup/memory. */
  mountpoint: string;
  /** The cgroup shown at the mountpoint (mountinfo field 4; not '/' inside a cgroup namespace). */
  mountRoot: string;
  /** The cgroup this process is in on this hierarchy (from /proc/self/cgroup). */
  ownCgroup: string;
}

export interface CgroupHostV1 {
  mode: 'v1';
  root: string;
  hierarchies: CgroupHierarchy[];
  /** The cgroup2 mount of a hybrid host (e.g. /sys/fs/cgroup/unified); joined like runc does, never configured. */
  unified?: CgroupHierarchy;
}

export interface CgroupHostV2 {
  mode: 'v2';
  root: string;
  unified: CgroupHierarchy;
}

export type CgroupHost = CgroupHostV1 | CgroupHostV2;

/** v1 controllers (and named hierarchies) that berth creates cgroups in; runc's subsystem list. */
export const V1_CONTROLLERS = [
  'cpuset', 'devices', 'memory', 'cpu', 'cpuacct', 'pids', 'blkio', 'hugetlb',
  'net_cls', 'net_prio', 'perf_event', 'freezer', 'rdma', 'name=systemd',
] as const;

export interface MountinfoEntry {
  /** The mount id (first field): unique while the mount exists. */
  id: number;
  mountRoot: string;
  mountpoint: string;
  fstype: string;
  superOptions: string[];
  /** Optional fields: "shared:N", "master:N", "propagate_from:N", "unbindable". */
  optional: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/<pid>/mountinfo (proc(5)); fields after the optional ones follow the ' - ' separator. */
export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const head = line.slice(0, sep).split(' ');
    const tail = line.slice(sep + 3).split(' ');
    if (head.length < 6 || tail.length < 3) continue;
    out.push({
      id: Number(head[0]),
      mountRoot: unescapeMountField(head[3] ?? ''),
      mountpoint: unescapeMountField(head[4] ?? ''),
      fstype: tail[0] ?? '',
      superOptions: (tail[2] ?? '').split(','),
      optional: head.slice(6),
    });
  }
  return out;
}

/** Parses /proc/<pid>/cgroup: "hierarchy-ID:controller-list:path" -> controller list string -> path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    out.set(line.slice(first + 1, second), line.slice(second + 1));
  }
  return out;
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/**
 * Decides the host's cgroup layout from mountinfo and /proc/self/cgroup text (pure).
 * `root` is where cgroupfs lives (/sys/fs/cgroup); only mounts at or under it count, as in runc.
 * A cgroup2 mount exactly at `root` means v2; otherwise v1 mounts under it mean v1 (hybrid when a
 * cgroup2 mount also sits under it).
 */
export function cgroupHostFromProc(mountinfoText: string, procCgroupText: string, root = '/sys/fs/cgroup'): CgroupHost {
  const cleanRoot = posix.normalize(root).replace(/(.)\/$/, '$1');
  const mounts = parseMountinfo(mountinfoText).filter((m) => isUnder(m.mountpoint, cleanRoot));
  const own = parseProcCgroup(procCgroupText);
  const unifiedOwn = own.get('') ?? '/';

  const v2 = mounts.find((m) => m.fstype === 'cgroup2' && m.mountpoint === cleanRoot);
  if (v2) {
    return {
      mode: 'v2',
      root: cleanRoot,
      unified: { controllers: [], mountpoint: v2.mountpoint, mountRoot: v2.mountRoot, ownCgroup: unifiedOwn },
    };
  }

  const known = new Set<string>(V1_CONTROLLERS);
  const hierarchies: CgroupHierarchy[] = [];
  const seen = new Set<string>();
  for (const m of mounts) {
    if (m.fstype !== 'cgroup') continue;
    const controllers = m.superOptions.filter((o) => known.has(o));
    if (controllers.length === 0) continue;
    const key = [...controllers].sort().join(',');
    if (seen.has(key)) continue; // a bind mount of a hierarchy already seen: the first one wins
    seen.add(key);
    // /proc/self/cgroup names the hierarchy by its full controller list in kernel order.
    const ownEntry = [...own.entries()].find(([list]) => {
      const names = list.split(',');
      return controllers.every((c) => names.includes(c));
    });
    hierarchies.push({ controllers, mountpoint: m.mountpoint, mountRoot: m.mountRoot, ownCgroup: ownEntry?.[1] ?? '/' });
  }
  if (hierarchies.length === 0) {
    throw notFound(`no cgroup filesystem is mounted at or under ${cleanRoot}`, { path: cleanRoot });
  }
  const hybrid = mounts.find((m) => m.fstype === 'cgroup2');
  const host: CgroupHostV1 = { mode: 'v1', root: cleanRoot, hierarchies };
  if (hybrid) {
    host.unified = { controllers: [], mountpoint: hybrid.mountpoint, mountRoot: hybrid.mountRoot, ownCgroup: unifiedOwn };
  }
  return host;
}

export interface CgroupHostOptions {
  /** Where cgroupfs is mounted; default /sys/fs/cgroup. */
  root?: string;
  /** Default /proc/self/mountinfo. */
  mountinfoPath?: string;
  /** Default /proc/self/cgroup. */
  procCgroupPath?: string;
}

/** Reads this process's mountinfo and cgroup files and describes the host's cgroup layout. */
export async function detectCgroupHost(options: CgroupHostOptions = {}): Promise<CgroupHost> {
  const mountinfoPath = options.mountinfoPath ?? '/proc/self/mountinfo';
  const procCgroupPath = options.procCgroupPath ?? '/proc/self/cgroup';
  // Synchronous: two small /proc files, and an async read would start libuv's thread pool
  // (four threads) in a command that needs none.
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw fromSystemError(err, 'read', path);
    }
  };
  const mountinfo = read(mountinfoPath);
  const procCgroup = read(procCgroupPath);
  return cgroupHostFromProc(mountinfo, procCgroup, options.root ?? '/sys/fs/cgroup');
}
