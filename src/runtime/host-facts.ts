// Gathers the facts about the host that the plan compiler needs (the compiler itself does no I/O).

import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Spec } from '../oci/runtime-spec.ts';
import { readCapBounding, readLastCap } from '../sys/proc.ts';
import { homeFromPasswd, readPasswdInRoot } from './container-home.ts';
import { parseMountinfo, V1_CONTROLLERS, type MountinfoEntry } from './cgroups/index.ts';

const CGROUP_ROOT = '/sys/fs/cgroup';
import { absoluteBindSource, type CgroupLayout, type HostFacts, type SourceKind } from './plan-compiler.ts';

function sourceKind(path: string): SourceKind {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

/** cgroup layout from mountinfo: a cgroup2 mount at the root means v2; otherwise the v1 hierarchies. */
export function cgroupLayoutFromMountinfo(mountinfo: string): CgroupLayout {
  const entries = parseMountinfo(mountinfo);
  if (entries.some((e) => e.fstype === 'cgroup2' && e.mountpoint === CGROUP_ROOT)) return { version: 2 };
  const known = new Set<string>(V1_CONTROLLERS);
  return {
    version: 1,
    hierarchies: entries
      .filter((e) => e.fstype === 'cgroup' && e.mountpoint.startsWith(`${CGROUP_ROOT}/`))
      .map((e) => ({ dir: e.mountpoint.slice(CGROUP_ROOT.length + 1), options: e.superOptions.filter((o) => known.has(o)).join(',') }))
      .filter((h) => h.options !== ''),
  };
}

/** The mount a path lives on: the last-mounted entry whose mount point is the longest prefix. */
export function mountHolding(entries: readonly MountinfoEntry[], path: string): HostFacts['rootfsMount'] {
  let best: MountinfoEntry | undefined;
  for (const e of entries) {
    const inside = e.mountpoint === '/' || path === e.mountpoint || path.startsWith(`${e.mountpoint}/`);
    if (inside && (!best || e.mountpoint.length >= best.mountpoint.length)) best = e;
  }
  return { mountpoint: best?.mountpoint ?? '/', shared: !!best?.optional.some((o) => o.startsWith('shared:')) };
}

export function gatherHostFacts(spec: Spec, bundle: string, rootfs?: string): HostFacts {
  const sources = new Map<string, SourceKind>();
  for (const m of spec.mounts ?? []) {
    if (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')) {
      const src = absoluteBindSource(m, bundle);
      sources.set(src, sourceKind(src));
    }
  }
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  return {
    sources,
    cgroup: cgroupLayoutFromMountinfo(mountinfo),
    rootfsMount: mountHolding(parseMountinfo(mountinfo), rootfs ?? '/'),
    hasKcore: existsSync('/proc/kcore'),
    lastCap: readLastCap(),
    heldCaps: readCapBounding(),
    home: rootfs && spec.process ? homeFromPasswd(readPasswdInRoot(rootfs), spec.process.user.uid) : undefined,
  };
}
