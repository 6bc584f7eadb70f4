// The heart of berth-runtime: a validated config.json (plus a few facts about the host) becomes
// the ordered list of kernel operations that berth-spawn executes. Pure: no I/O here.

import { invalid, unimplemented } from '../oci/errors.ts';
import type { Mount, NamespaceType, Spec } from '../oci/runtime-spec.ts';
import { MOUNT_ATTR, MS, S_IFBLK, S_IFCHR, S_IFIFO } from '../sys/kernel-constants.ts';
import type { Plan, PlanOp } from '../sys/plan-ops.ts';
import { DEV_SYMLINKS, containerDevices } from './devices.ts';
import { parseMountOptions, parsePropagation } from './mount-options.ts';
import { compileProcessSetup, type Add } from './process-plan.ts';
import { planSysctls } from './sysctl.ts';

export type SourceKind = 'dir' | 'file' | 'missing';

export type CgroupLayout =
  | { version: 1; hierarchies: Array<{ dir: string; options: string }> }
  | { version: 2 };

/** What the compiler needs to know about the host, gathered beforehand (see host-facts.ts). */
export interface HostFacts {
  /** The type of each bind-mount source, by absolute path. */
  sources: ReadonlyMap<string, SourceKind>;
  cgroup: CgroupLayout;
  hasKcore: boolean;
  /** /proc/sys/kernel/cap_last_cap */
  lastCap: number;
  /** The runtime's own bounding set: a container can't get capabilities the runtime lacks. */
  heldCaps: bigint;
  /** The process user's home directory from the container's /etc/passwd, if it has one. */
  home?: string;
  /** The host mount holding the rootfs (longest mount point above it) and whether it is shared. */
  rootfsMount: { mountpoint: string; shared: boolean };
}

export interface CompileInput {
  spec: Spec;
  bundle: string;
  /** Absolute path of the root filesystem. */
  rootfs: string;
  /** The exec fifo `start` writes into; absent for a process that starts at once. */
  fifoPath?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  preserveFds?: number;
  /** Keep berth-spawn as the parent of init, exiting with its status (foreground `run`). */
  wait?: boolean;
  host: HostFacts;
  /** Where warnings go (settings that are dropped rather than refused). */
  warn?: (message: string) => void;
}

// Namespaces are joined in this order (user first: it decides what the others may do).
const JOIN_ORDER: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'mount', 'cgroup', 'time'];

/** Sync points where berth-spawn stops and TypeScript acts. */
export const SYNC = {
  /** After clone: write id maps, join cgroups, set oom_score_adj. */
  clone: 'clone',
  /** Mounts done, before pivot_root: prestart, createRuntime and createContainer hooks. */
  hooks: 'create-runtime',
  /** Set-up complete; init waits on the exec fifo. */
  created: 'created',
} as const;

function newNamespaces(spec: Spec): NamespaceType[] {
  return (spec.linux?.namespaces ?? []).filter((n) => !n.path).map((n) => n.type);
}

// personality(2) execution domains the runtime-spec names.
const PERSONALITY_DOMAINS: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };

function personality(p: { domain: string; flags?: string[] }): number {
  const domain = PERSONALITY_DOMAINS[p.domain];
  if (domain === undefined) throw invalid(`linux.personality.domain: "${p.domain}" is not LINUX or LINUX32`, { field: 'linux.personality.domain' });
  if (p.flags?.length) throw unimplemented('linux.personality.flags: no personality flags are defined by the runtime-spec yet', { field: 'linux.personality.flags' });
  return domain;
}

// Mounts on top of /proc files hide what the kernel reports (CVE-2019-16884 used one to hide
// AppArmor's attr files); only the files lxcfs-style tools virtualise may be covered.
const PROC_MOUNT_ALLOWED = new Set([
  '/proc/cpuinfo', '/proc/diskstats', '/proc/meminfo', '/proc/stat', '/proc/swaps', '/proc/uptime',
  '/proc/loadavg', '/proc/slabinfo', '/proc/net/dev', '/proc/sys/kernel/ns_last_pid',
]);

export function absoluteBindSource(m: Mount, bundle: string): string {
  const src = m.source ?? '';
  return src.startsWith('/') ? src : `${bundle.replace(/\/$/, '')}/${src}`;
}

function isBind(m: Mount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

export function compilePlan(input: CompileInput): Plan {
  const { spec, host } = input;
  const process = spec.process;
  if (!process) throw invalid('config.json: process: required to create a container', { field: 'process' });
  if (!spec.root) throw invalid('config.json: root: required to create a container', { field: 'root' });
  const linux = spec.linux ?? {};
  const namespaces = linux.namespaces ?? [];
  const newNs = namespaces.filter((n) => !n.path).map((n) => n.type);
  const joined = namespaces.filter((n) => n.path);
  const hasUserNs = namespaces.some((n) => n.type === 'user');
  const hasMountNs = namespaces.some((n) => n.type === 'mount');

  if (!hasMountNs) refuseWithoutMountNamespace(spec);
  if (newNs.includes('time') || joined.some((n) => n.type === 'time')) {
    throw unimplemented('linux.namespaces: time namespaces are not supported by berth-runtime', { field: 'linux.namespaces' });
  }
  if (hasUserNs && !namespaces.find((n) => n.type === 'user')?.path && !(linux.uidMappings?.length && linux.gidMappings?.length)) {
    throw invalid('config.json: linux.uidMappings: a new user namespace needs uidMappings and gidMappings', {
      field: 'linux.uidMappings',
    });
  }
  if (process.terminal && !input.consoleSocket) {
    throw invalid('process.terminal is true: --console-socket is required (or set terminal to false)', {
      field: 'process.terminal',
    });
  }
  if (!process.terminal && input.consoleSocket) {
    throw invalid('--console-socket was given but process.terminal is false', { field: 'process.terminal' });
  }
  for (const [field, value] of [
    ['process.apparmorProfile', process.apparmorProfile],
    ['process.selinuxLabel', process.selinuxLabel],
    ['linux.mountLabel', linux.mountLabel],
  ] as const) {
    if (value) throw unimplemented(`${field}: this kernel has no LSM enabled; "${value}" can't be applied`, { field });
  }

  const plan: Plan = [];
  const add = (op: PlanOp, origin?: string): void => {
    plan.push(origin ? { ...op, origin } : op);
  };

  // Opened by berth-spawn before the clone, with the runtime's own credentials: init inherits the
  // fds, and a user-namespaced init could not open these host paths itself.
  if (input.fifoPath) {
    add({ kind: 'mkfifo', path: input.fifoPath, mode: 0o600 });
    add({ kind: 'open-fifo', path: input.fifoPath });
  }
  if (process.terminal) add({ kind: 'connect-console', path: input.consoleSocket! }, '--console-socket');

  // Join existing namespaces, then clone into the new ones. A new cgroup namespace is created
  // after the cgroup is joined (sync "clone"), so that its root is the container's cgroup.
  for (const type of JOIN_ORDER) {
    const i = namespaces.findIndex((n) => n.type === type && n.path);
    if (i >= 0) add({ kind: 'setns', ns: type, path: namespaces[i]!.path! }, `linux.namespaces[${i}]`);
  }
  add({ kind: 'clone', namespaces: newNs.filter((t) => t !== 'cgroup'), wait: !!input.wait }, 'linux.namespaces');
  add({ kind: 'sync', point: SYNC.clone, last: false });
  // In a new user namespace init still has the host's ids, which map to nothing inside: become
  // root of the namespace (the mapped id) before creating anything.
  if (newNs.includes('user')) {
    add({ kind: 'setgid', gid: 0 }, 'linux.gidMappings');
    add({ kind: 'setuid', uid: 0 }, 'linux.uidMappings');
  }
  if (newNs.includes('cgroup')) add({ kind: 'unshare', namespaces: ['cgroup'] }, 'linux.namespaces');
  add({ kind: 'setsid' });

  compileRootfs(input, add, hasUserNs, hasMountNs);

  // A joined uts namespace is the container's own as much as a new one; only the host's is not.
  const hasUtsNs = namespaces.some((n) => n.type === 'uts');
  if (spec.hostname) {
    if (!hasUtsNs) throw invalid('hostname: setting a hostname needs a uts namespace (linux.namespaces has none)', { field: 'hostname' });
    add({ kind: 'sethostname', name: spec.hostname }, 'hostname');
  }
  if (spec.domainname) {
    if (!hasUtsNs) throw invalid('domainname: setting a domainname needs a uts namespace (linux.namespaces has none)', { field: 'domainname' });
    add({ kind: 'setdomainname', name: spec.domainname }, 'domainname');
  }

  const { env, args, lateSeccomp, ignoredCapabilities } = compileProcessSetup(process, linux.seccomp, host, add, input.preserveFds ?? 0);
  if (ignoredCapabilities.length) input.warn?.(`process.capabilities: ignoring unknown or unavailable capabilities: ${ignoredCapabilities.join(', ')}`);
  add({ kind: 'sync', point: SYNC.created, last: true });
  if (input.fifoPath) {
    add({ kind: 'wait-start' });
    (spec.hooks?.startContainer ?? []).forEach((h, i) =>
      add(
        { kind: 'hook', path: h.path, args: h.args ?? [h.path], env: h.env ?? [], timeout: h.timeout ?? 0 },
        `hooks.startContainer[${i}]`,
      ),
    );
  }
  // With no_new_privs the filter goes last, right before execve (as runc: after the
  // startContainer hooks), so a profile only needs to allow execve itself; without it, it must
  // be loaded while the process still has CAP_SYS_ADMIN (in compileProcessSetup).
  if (lateSeccomp) add(lateSeccomp, 'linux.seccomp');
  add({ kind: 'execve', args, env }, 'process.args');
  return plan;
}

// Without a mount namespace the container shares the runtime's mount table (runtime-spec:
// namespaces not listed are inherited). Mounts are made there and removed at delete; what would
// change mounts the host itself uses can't be done.
function refuseWithoutMountNamespace(spec: Spec): void {
  const needs = (field: string, what: string): never => {
    throw invalid(`${field}: ${what} needs a mount namespace (linux.namespaces has no "mount"): it would change the host's own mounts`, { field });
  };
  if (spec.linux?.rootfsPropagation) needs('linux.rootfsPropagation', 'changing the rootfs propagation');
  if (spec.root?.readonly) needs('root.readonly', 'a read-only rootfs');
}


function compileRootfs(input: CompileInput, add: Add, hasUserNs: boolean, hasMountNs: boolean): void {
  const { spec, rootfs, host } = input;
  const linux = spec.linux ?? {};
  const mounts = spec.mounts ?? [];

  // Keep mount events from reaching the host; rootfsPropagation (default rslave, as runc) applies.
  const propagation = linux.rootfsPropagation
    ? parsePropagation(linux.rootfsPropagation, 'linux.rootfsPropagation')
    : MS.SLAVE | MS.REC;
  if (hasMountNs) {
    add({ kind: 'mount', source: null, target: '/', fstype: null, flags: propagation, data: null, inRoot: false }, 'linux.rootfsPropagation');
    // pivot_root refuses a shared new root or parent: the mount holding the rootfs goes private
    // for the pivot; the requested propagation is applied to the new root afterwards.
    if (sharedAfter(propagation, host.rootfsMount)) {
      add({ kind: 'mount', source: null, target: host.rootfsMount.mountpoint, fstype: null, flags: MS.PRIVATE, data: null, inRoot: false }, 'linux.rootfsPropagation');
    }
    add({ kind: 'mount', source: rootfs, target: rootfs, fstype: 'bind', flags: MS.BIND | MS.REC, data: null, inRoot: false }, 'root.path');
  }
  add({ kind: 'open-root', path: rootfs }, 'root.path');

  mounts.forEach((m, i) => compileMount(input, m, `mounts[${i}]`, add));

  // /dev: unless the config bind-mounts one, fill it as runc does.
  const devBound = mounts.some((m) => m.destination.replace(/\/+$/, '') === '/dev' && isBind(m));
  if (!devBound) {
    add({ kind: 'mkdir', path: '/dev', mode: 0o755 });
    const devices = containerDevices(linux.devices);
    devices.forEach((d) => {
      const configured = (linux.devices ?? []).indexOf(d);
      const origin = configured >= 0 ? `linux.devices[${configured}]` : 'default devices';
      compileDevice(d, hasUserNs, add, origin);
    });
    for (const [target, path] of DEV_SYMLINKS) add({ kind: 'symlink', target, path });
    if (host.hasKcore) add({ kind: 'symlink', target: '/proc/kcore', path: '/dev/core' });
    // Always, as runc: the spec requires /dev/ptmx whether or not the config mounts /dev/pts.
    add({ kind: 'symlink', target: 'pts/ptmx', path: '/dev/ptmx' });
  }
  // A cwd the rootfs lacks is made (as runc), after the mounts so that one inside a volume
  // lands in the volume.
  if (spec.process?.cwd && spec.process.cwd !== '/') add({ kind: 'mkdir', path: spec.process.cwd, mode: 0o755 }, 'process.cwd');
  if (spec.process?.terminal) add({ kind: 'mkfile', path: '/dev/console', mode: 0o600 }, 'process.terminal');

  const hooks = spec.hooks ?? {};
  if (hooks.prestart?.length || hooks.createRuntime?.length || hooks.createContainer?.length) {
    add({ kind: 'sync', point: SYNC.hooks, last: false }, 'hooks');
  }

  if (!hasMountNs) add({ kind: 'chroot', path: rootfs }, 'root.path');
  else if (input.noPivot) add({ kind: 'move-root', path: rootfs }, '--no-pivot');
  else add({ kind: 'pivot-root', path: rootfs }, 'root.path');
  add({ kind: 'open-root', path: '/' });
  add({ kind: 'reopen-dev-null' });
  if (linux.rootfsPropagation) {
    add({ kind: 'mount', source: null, target: '/', fstype: null, flags: propagation, data: null, inRoot: false }, 'linux.rootfsPropagation');
  }

  const process = spec.process!;
  if (process.terminal) {
    add(
      { kind: 'console', rows: process.consoleSize?.height ?? 0, cols: process.consoleSize?.width ?? 0, bindConsole: true },
      'process.terminal',
    );
  }
  if (spec.root?.readonly) {
    add({ kind: 'mount-setattr', path: '/', set: MOUNT_ATTR.RDONLY, clear: 0n, propagation: 0n, recursive: false }, 'root.readonly');
  }
  // Sysctls first: /proc/sys becomes read-only below. Each file is checked to be on procfs.
  for (const w of planSysctls(linux.sysctl ?? {}, newNamespaces(spec))) {
    add({ kind: 'write-file', path: w.path, data: w.value, requireProcfs: true }, `linux.sysctl.${w.key}`);
  }
  (linux.readonlyPaths ?? []).forEach((p, i) => add({ kind: 'mask-path', path: p, readonly: true }, `linux.readonlyPaths[${i}]`));
  (linux.maskedPaths ?? []).forEach((p, i) => add({ kind: 'mask-path', path: p, readonly: false }, `linux.maskedPaths[${i}]`));
  if (linux.personality) add({ kind: 'personality', persona: personality(linux.personality) }, 'linux.personality');
}

/** Whether the mount holding the rootfs is shared once `propagation` has been applied to "/". */
function sharedAfter(propagation: number, holder: HostFacts['rootfsMount']): boolean {
  const reaches = holder.mountpoint === '/' || (propagation & MS.REC) !== 0;
  return reaches ? (propagation & MS.SHARED) !== 0 : holder.shared;
}

function compileDevice(d: { type: string; path: string; major?: number; minor?: number; fileMode?: number; uid?: number; gid?: number }, hasUserNs: boolean, add: Add, origin: string): void {
  const parent = d.path.slice(0, d.path.lastIndexOf('/')) || '/';
  if (parent !== '/dev') add({ kind: 'mkdir', path: parent, mode: 0o755 }, origin);
  if (hasUserNs) {
    // mknod is not allowed in a user namespace: bind the host's node instead (as runc).
    add({ kind: 'mkfile', path: d.path, mode: 0o000 }, origin);
    add({ kind: 'mount', source: d.path, target: d.path, fstype: 'bind', flags: MS.BIND, data: null, inRoot: true }, origin);
    return;
  }
  const typeBits = d.type === 'b' ? S_IFBLK : d.type === 'p' ? S_IFIFO : S_IFCHR;
  add(
    {
      kind: 'mknod',
      path: d.path,
      mode: typeBits | (d.fileMode ?? 0o666),
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
    },
    origin,
  );
}

function compileMount(input: CompileInput, m: Mount, field: string, add: Add): void {
  const opts = parseMountOptions(m.options ?? [], `${field}.options`);
  const dest = m.destination;
  if (dest.split('/').includes('..')) throw invalid(`${field}.destination: "${dest}" must not contain ".."`, { field: `${field}.destination` });
  const bind = opts.bind || m.type === 'bind';
  const clean = dest.replace(/\/+/g, '/').replace(/\/$/, '');
  if (clean.startsWith('/proc/') && !PROC_MOUNT_ALLOWED.has(clean)) {
    throw invalid(`${field}.destination: mounting over ${dest} is not allowed (only /proc itself and ${[...PROC_MOUNT_ALLOWED].join(', ')})`, { field: `${field}.destination` });
  }
  if (clean === '/proc' && m.type !== 'proc') throw invalid(`${field}.destination: only a proc filesystem may be mounted on /proc`, { field: `${field}.destination` });

  if (bind) {
    const source = absoluteBindSource(m, input.bundle);
    const kind = input.host.sources.get(source) ?? 'missing';
    if (kind === 'missing') throw invalid(`${field}.source: bind source ${source} does not exist`, { field: `${field}.source`, path: source, errno: 'ENOENT' });
    if (kind === 'dir') add({ kind: 'mkdir', path: dest, mode: 0o755 }, `${field}.destination`);
    else {
      const parent = dest.slice(0, dest.lastIndexOf('/')) || '/';
      add({ kind: 'mkdir', path: parent, mode: 0o755 }, `${field}.destination`);
      add({ kind: 'mkfile', path: dest, mode: 0o755 }, `${field}.destination`);
    }
    const first = opts.flags & (MS.BIND | MS.REC);
    add({ kind: 'mount', source, target: dest, fstype: 'bind', flags: first, data: null, inRoot: true }, field);
    const rest = opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
    if (rest) {
      add({ kind: 'mount', source: null, target: dest, fstype: null, flags: MS.BIND | MS.REMOUNT | rest, data: null, inRoot: true }, `${field}.options`);
    }
  } else if (m.type === 'cgroup' || m.type === 'cgroup2') {
    compileCgroupMount(input, m, field, opts.flags, add);
  } else {
    add({ kind: 'mkdir', path: dest, mode: 0o755 }, `${field}.destination`);
    add(
      { kind: 'mount', source: m.source ?? m.type ?? 'none', target: dest, fstype: m.type ?? null, flags: opts.flags, data: opts.data.join(',') || null, inRoot: true },
      field,
    );
  }
  for (const p of opts.propagation) {
    add({ kind: 'mount', source: null, target: dest, fstype: null, flags: p, data: null, inRoot: true }, `${field}.options`);
  }
  if (opts.recursive) {
    add({ kind: 'mount-setattr', path: dest, set: opts.recursive.set, clear: opts.recursive.clear, propagation: 0n, recursive: true }, `${field}.options`);
  }
}

// A cgroup mount: on v2 the unified hierarchy; on v1 a tmpfs holding one mount per hierarchy,
// made read-only afterwards if asked. The kernel shows each hierarchy from the cgroup
// namespace's root, i.e. the container's own cgroup.
function compileCgroupMount(input: CompileInput, m: Mount, field: string, flags: number, add: Add): void {
  const dest = m.destination.replace(/\/+$/, '');
  add({ kind: 'mkdir', path: dest, mode: 0o755 }, `${field}.destination`);
  const layout = input.host.cgroup;
  if (layout.version === 2) {
    add({ kind: 'mount', source: 'cgroup2', target: dest, fstype: 'cgroup2', flags, data: null, inRoot: true }, field);
    return;
  }
  const base = flags & ~MS.RDONLY;
  add({ kind: 'mount', source: 'tmpfs', target: dest, fstype: 'tmpfs', flags: base, data: 'mode=755', inRoot: true }, field);
  for (const h of layout.hierarchies) {
    const target = `${dest}/${h.dir}`;
    add({ kind: 'mkdir', path: target, mode: 0o755 }, field);
    add({ kind: 'mount', source: 'cgroup', target, fstype: 'cgroup', flags, data: h.options, inRoot: true }, field);
  }
  if (flags & MS.RDONLY) {
    add({ kind: 'mount', source: null, target: dest, fstype: null, flags: MS.REMOUNT | base | MS.RDONLY, data: 'mode=755', inRoot: true }, `${field}.options`);
  }
}
