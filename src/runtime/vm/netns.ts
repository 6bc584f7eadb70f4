// The side of guest-net.ts that touches a network namespace: `ip` and `tc` (iproute2) run inside
// it through nsenter (util-linux), as Node can't setns. The tap is made persistent here, so it
// outlives QEMU until delete removes it; QEMU's end (even after kill -9 of the monitor) leaves
// only what delete's unplug removes.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { BerthError } from '../../oci/errors.ts';
import { guestNetwork, plugCommands, unplugCommands, type GuestNet, type IpLink, type IpRoute, type NetPlumbing } from './guest-net.ts';

const NSENTER = '/usr/bin/nsenter';

function inNetns(netns: string, argv: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(NSENTER, [`--net=${netns}`, '--', ...argv], { input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new BerthError('internal', `berth-vm: running ${argv[0]} in ${netns}: ${r.error.message}`, { path: netns });
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr.trim() };
}

function ipJson<T>(netns: string, args: string[]): T[] {
  const r = inNetns(netns, ['ip', '-j', ...args]);
  if (r.status !== 0) throw new BerthError('internal', `berth-vm: ip ${args.join(' ')} in ${netns}: ${r.stderr}`, { path: netns });
  return r.stdout.trim() ? (JSON.parse(r.stdout) as T[]) : [];
}

/** The interface, addresses and routes the guest takes over, read from the namespace (none: loopback alone). */
export function readGuestNetwork(netns: string): GuestNet | undefined {
  if (!existsSync(netns)) throw new BerthError('not-found', `linux.namespaces: network namespace ${netns} does not exist`, { field: 'linux.namespaces', path: netns });
  const links = ipJson<IpLink>(netns, ['-d', 'addr', 'show']);
  const routes = [...ipJson<IpRoute>(netns, ['route', 'show', 'table', 'main']), ...ipJson<IpRoute>(netns, ['-6', 'route', 'show', 'table', 'main'])];
  return guestNetwork(netns, links, routes);
}

/**
 * Makes the tap and the redirections; on failure undoes what it did, and only that: an ingress
 * qdisc already on the interface (another VM's) stays.
 */
export function plugTap(p: NetPlumbing, mtu: number): void {
  const { ip, tc } = plugCommands(p, mtu);
  const steps: Array<['ip' | 'tc', string[]]> = [['ip', ip], ['tc', tc.slice(0, 1)], ['tc', tc.slice(1)]];
  for (const [i, [tool, lines]] of steps.entries()) {
    const r = inNetns(p.netns, [tool, '-batch', '-'], `${lines.join('\n')}\n`);
    if (r.status === 0) continue;
    if (i < 2) inNetns(p.netns, ['ip', 'link', 'del', 'dev', p.tap]);
    else unplugTap(p);
    const busy = i === 1 && /exclusivity flag on|file exists/i.test(r.stderr) ? ` (${p.iface} already has an ingress qdisc: does another VM serve this namespace?)` : '';
    throw new BerthError('internal', `berth-vm: connecting ${p.iface} in ${p.netns} to tap ${p.tap} failed: ${r.stderr}${busy}`, { path: p.netns });
  }
}

/** Removes the tap and the interface's redirection. A namespace already gone leaves nothing to do. */
export function unplugTap(p: NetPlumbing): void {
  if (!existsSync(p.netns)) return;
  for (const [tool, argv] of unplugCommands(p)) inNetns(p.netns, [tool, ...argv]);
}

/** The hostname in a uts namespace pinned on the host (a pod's). */
export function utsHostname(uts: string): string | undefined {
  const r = spawnSync(NSENTER, [`--uts=${uts}`, '--', 'hostname'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}
