// What a stopped CRI peer fixture (containerd or berthd) might have left on the host: its
// directory, its bridge, mounts below its directory, helper processes, processes or cgroups under
// its pods' cgroup parent, iptables rules naming its network. Empty when it cleaned up.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CriPeerFixture } from './cri-peer.ts';

export function peerLeftovers(p: CriPeerFixture): string[] {
  const found: string[] = [];
  if (existsSync(p.dir)) found.push(`directory ${p.dir}`);
  if (spawnSync('ip', ['link', 'show', p.cni.bridge], { stdio: 'ignore' }).status === 0) found.push(`bridge ${p.cni.bridge}`);
  if (readFileSync('/proc/self/mountinfo', 'utf8').includes(p.dir)) found.push(`mounts under ${p.dir}`);
  const helpers = p.helperPids();
  if (helpers.length) found.push(`helpers ${helpers.join(' ')}`);
  const inCgroup = p.cgroupParent.pids();
  if (inCgroup.length) found.push(`processes ${inCgroup.join(' ')} in ${p.cgroupParent.path}`);
  if (existsSync(join('/sys/fs/cgroup/pids', p.cgroupParent.path)) || existsSync(join('/sys/fs/cgroup', p.cgroupParent.path, 'cgroup.procs'))) found.push(`cgroup ${p.cgroupParent.path}`);
  const rules = spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout ?? '';
  if (rules.includes(p.cni.network) || rules.includes(p.cni.subnet)) found.push(`iptables rules of ${p.cni.network}`);
  return found;
}
