// A container VM's network, Kata's default ("tc mirred"): when the config names a network
// namespace by path (a pod's, made by CNI), berth-vm puts a tap device in it, redirects every
// frame both ways between the namespace's interface and the tap with tc, hands the tap to QEMU,
// and the guest takes over the interface's MAC, addresses and routes. Pure: what to read from
// `ip -j`, what to send to the guest, which ip/tc commands to run. Side effects: netns.ts.

import { createHash } from 'node:crypto';
import { invalid, unimplemented } from '../../oci/errors.ts';
import type { Spec } from '../../oci/runtime-spec.ts';

/** `ip -j addr show` (one entry per link, with its addresses). */
export interface IpLink {
  ifname: string;
  link_type?: string;
  address?: string;
  mtu?: number;
  linkinfo?: { info_kind?: string };
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string }>;
}

/** `ip -j route show` / `ip -j -6 route show`. */
export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  type?: string;
}

export interface GuestAddress {
  family: 4 | 6;
  address: string;
  prefixLength: number;
}

export interface GuestRoute {
  family: 4 | 6;
  dst: string;
  prefixLength: number;
  gateway?: string;
}

export interface GuestNet {
  /** The namespace's interface whose traffic the guest takes over. */
  iface: string;
  mac: string;
  mtu: number;
  addresses: GuestAddress[];
  routes: GuestRoute[];
}

/** What create records, so that delete can undo it (also after the monitor was killed). */
export interface NetPlumbing {
  netns: string;
  iface: string;
  tap: string;
}

/** The network namespace the config joins by path, if any (a pod's). */
export function netnsPath(spec: Spec): string | undefined {
  return spec.linux?.namespaces?.find((n) => n.type === 'network' && n.path)?.path;
}

/**
 * The namespaces the container has in the guest. Host namespaces joined by path (a pod's, pinned
 * by berthd or podman) can't be joined from another kernel: the network one is the guest's own,
 * where the pod's interface appears; ipc and uts become the container's own in the guest (the
 * pod's hostname, read from its uts namespace on the host, stays). Others are refused.
 */
export function guestNamespaces(spec: Spec, podHostname: (utsPath: string) => string | undefined): Spec {
  const namespaces = spec.linux?.namespaces;
  if (!namespaces?.some((n) => n.path)) return spec;
  let hostname = spec.hostname;
  const out = [];
  for (const [i, n] of namespaces.entries()) {
    if (!n.path) out.push(n);
    else if (n.type === 'network') continue;
    else if (n.type === 'ipc') out.push({ type: n.type });
    else if (n.type === 'uts') {
      hostname ??= podHostname(n.path);
      out.push({ type: n.type });
    } else throw unimplemented(`linux.namespaces[${i}]: berth-vm can't join the host's ${n.type} namespace ${n.path} from the guest`, { field: `linux.namespaces[${i}]` });
  }
  return { ...spec, ...(hostname !== undefined ? { hostname } : {}), linux: { ...spec.linux, namespaces: out } };
}

export const TAP_PREFIX = 'bvm';

/** A tap name (at most 15 bytes, IFNAMSIZ) unique to the container within the namespace. */
export function tapName(id: string): string {
  return `${TAP_PREFIX}${createHash('sha256').update(id).digest('hex').slice(0, 10)}`;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * Which interface the guest gets, and its configuration, from what `ip -j` said in the netns;
 * none for a namespace with loopback alone (`--network none`): the guest has no network device.
 */
export function guestNetwork(netns: string, links: readonly IpLink[], routes: readonly IpRoute[]): GuestNet | undefined {
  const candidates = links.filter((l) => l.ifname !== 'lo' && (l.link_type ?? 'ether') === 'ether' && !l.ifname.startsWith(TAP_PREFIX) && l.linkinfo?.info_kind !== 'tun');
  const viaDefault = routes.find((r) => r.dst === 'default' && r.dev)?.dev;
  const link = candidates.find((l) => l.ifname === viaDefault) ?? candidates.find((l) => l.ifname === 'eth0') ?? (candidates.length === 1 ? candidates[0] : undefined);
  if (!candidates.length) return undefined;
  if (!link) {
    const names = candidates.map((l) => l.ifname).join(', ');
    throw invalid(`linux.namespaces: network namespace ${netns} has no interface for the VM (ethernet interfaces: ${names}; want eth0 or the default route's)`, { field: 'linux.namespaces', path: netns });
  }
  if (!link.address || !MAC.test(link.address)) throw invalid(`${link.ifname} in ${netns} has no MAC address`, { field: 'linux.namespaces', path: netns });
  const addresses: GuestAddress[] = (link.addr_info ?? [])
    .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.scope !== 'link' && a.scope !== 'host')
    .map((a) => ({ family: a.family === 'inet' ? 4 : 6, address: a.local, prefixLength: a.prefixlen }));
  const out: GuestRoute[] = [];
  for (const r of routes) {
    // The kernel adds each address's prefix route itself; other devices' routes are not the guest's.
    if (r.dev !== link.ifname || r.protocol === 'kernel' || (r.type && r.type !== 'unicast')) continue;
    const family = r.dst.includes(':') || r.gateway?.includes(':') ? 6 : 4;
    const [dst, len] = r.dst === 'default' ? [family === 4 ? '0.0.0.0' : '::', 0] : splitPrefix(r.dst, family);
    if (family === 6 && dst.toLowerCase().startsWith('fe80:')) continue;
    out.push({ family, dst, prefixLength: len, ...(r.gateway ? { gateway: r.gateway } : {}) });
  }
  // Routes to a gateway need the gateway's own (link) route first.
  out.sort((a, b) => Number(!!a.gateway) - Number(!!b.gateway));
  return { iface: link.ifname, mac: link.address.toLowerCase(), mtu: link.mtu ?? 1500, addresses, routes: out };
}

function splitPrefix(dst: string, family: 4 | 6): [string, number] {
  const slash = dst.indexOf('/');
  if (slash < 0) return [dst, family === 4 ? 32 : 128];
  return [dst.slice(0, slash), Number(dst.slice(slash + 1))];
}

/**
 * The F_NET payload the agent reads (native/vm-agent.c), one setting a line:
 *   mac <mac> | mtu <n> | addr <4|6> <address> <prefix> | route <4|6> <dst> <prefix> <gateway|->
 */
export function encodeGuestNet(net: GuestNet): Buffer {
  const lines = [`mac ${net.mac}`, `mtu ${net.mtu}`];
  for (const a of net.addresses) lines.push(`addr ${a.family} ${a.address} ${a.prefixLength}`);
  for (const r of net.routes) lines.push(`route ${r.family} ${r.dst} ${r.prefixLength} ${r.gateway ?? '-'}`);
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** `ip -batch` and `tc -batch` input that plugs the tap into the interface (in the netns). */
export function plugCommands(p: NetPlumbing, mtu: number): { ip: string[]; tc: string[] } {
  return {
    ip: [`tuntap add dev ${p.tap} mode tap vnet_hdr`, `link set dev ${p.tap} mtu ${mtu} up`],
    tc: [
      `qdisc add dev ${p.iface} handle ffff: ingress`,
      `filter add dev ${p.iface} parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev ${p.tap}`,
      `qdisc add dev ${p.tap} handle ffff: ingress`,
      `filter add dev ${p.tap} parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev ${p.iface}`,
    ],
  };
}

/** What undoes plugCommands, each on its own (any may already be gone). Deleting the tap drops its qdisc. */
export function unplugCommands(p: NetPlumbing): Array<['ip' | 'tc', string[]]> {
  return [
    ['tc', ['qdisc', 'del', 'dev', p.iface, 'handle', 'ffff:', 'ingress']],
    ['ip', ['link', 'del', 'dev', p.tap]],
  ];
}
