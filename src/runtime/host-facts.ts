// Gathers the facts about the host that the plan compiler needs (the compiler itself does no I/O).

import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Spec } from '../oci/runtime-spec.ts';
import { readCapBounding, readLastCap } from '../sys/proc.ts';
import { homeFromPasswd, readPasswdInRoot } from './container-home.ts';
import { absoluteBindSource, type CgroupLayout, type HostFacts, type SourceKind } from './plan-compiler.ts';

function sourceKind(path: string): SourceKind {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

/** cgroup layout from mountinfo: a pure cgroup2 root means v2; otherwise the v1 hierarchies. */
export function cgroupLayoutFromMountinfo(mountinfo: string): CgroupLayout {
  const hierarchies: Array<{ dir: string; options: string }> = [];
  let unifiedAtRoot = false;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const mountPoint = pre[4] ?? '';
    const fstype = post[0];
    if (fstype === 'cgroup2' && mountPoint === '/sys/fs/cgroup') unifiedAtRoot = true;
    if (fstype !== 'cgroup' || !mountPoint.startsWith('/sys/fs/cgroup/')) continue;
    const superOpts = (post[2] ?? '').split(',');
    const subsystems = superOpts.filter((o) => !['rw', 'ro', 'relatime', 'noexec', 'nosuid', 'nodev'].includes(o) && !o.startsWith('release_agent') && o !== 'xattr' && o !== 'clone_children' && o !== 'cpuset_v2_mode');
    hierarchies.push({ dir: mountPoint.slice('/sys/fs/cgroup/'.length), options: subsystems.join(',') });
  }
  return unifiedAtRoot ? { version: 2 } : { version: 1, hierarchies };
}

export function gatherHostFacts(spec: Spec, bundle: string, rootfs?: string): HostFacts {
  const sources = new Map<string, SourceKind>();
  for (const m of spec.mounts ?? []) {
    if (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')) {
      const src = absoluteBindSource(m, bundle);
      sources.set(src, sourceKind(src));
    }
  }
  return {
    sources,
    cgroup: cgroupLayoutFromMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')),
    hasKcore: existsSync('/proc/kcore'),
    lastCap: readLastCap(),
    heldCaps: readCapBounding(),
    home: rootfs && spec.process ? homeFromPasswd(readPasswdInRoot(rootfs), spec.process.user.uid) : undefined,
  };
}
