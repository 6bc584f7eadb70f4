// berth's bridge networks as CNI configuration lists: a network's definition becomes the conflist
// of Debian's plugins (bridge with host-local addresses, portmap for published ports, firewall so
// that forwarded traffic is accepted), and a conflist berth wrote reads back as its definition.
// Pure: the files are written by network-store.ts.

import { invalid } from '../oci/errors.ts';
import { validateIfname, validateNetworkName } from './cni-names.ts';
import type { NetworkConfigList } from './conflist.ts';
import { contains, formatIpv4, formatSubnet, isHostAddress, parseIpv4, parseSubnet } from './ipv4-subnet.ts';

export interface BridgeNetwork {
  name: string;
  /** The host's bridge interface. */
  bridge: string;
  /** "10.90.0.0/24". */
  subnet: string;
  /** The bridge's address and the containers' default route (none for an internal network). */
  gateway: string;
  /** No route out and no masquerading: containers reach each other only (docker's --internal). */
  internal: boolean;
  /** Where host-local keeps its leases for this network. */
  ipamDir: string;
}

/** The CNI version the generated lists speak (Debian 12's plugins speak up to 1.0.0). */
export const BRIDGE_CNI_VERSION = '1.0.0';

/** The default network (docker's `bridge`, podman's `podman`), created on first use. */
export const DEFAULT_NETWORK = 'berth';

export function checkBridgeNetwork(n: BridgeNetwork): void {
  validateNetworkName(n.name);
  validateIfname(n.bridge);
  const subnet = parseSubnet(n.subnet);
  const gw = parseIpv4(n.gateway);
  if (gw === undefined || !isHostAddress(subnet, gw)) throw invalid(`--gateway: "${n.gateway}" is not a host address of ${n.subnet}`, { field: '--gateway' });
}

export function bridgeConfList(n: BridgeNetwork): Record<string, unknown> {
  checkBridgeNetwork(n);
  return {
    cniVersion: BRIDGE_CNI_VERSION,
    name: n.name,
    plugins: [
      {
        type: 'bridge',
        bridge: n.bridge,
        // An internal network's bridge has the gateway address too (the host reaches it, as
        // docker's), but no default route is given to containers and nothing is masqueraded.
        isGateway: true,
        ipMasq: !n.internal,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: n.subnet, gateway: n.gateway }]],
          routes: n.internal ? [] : [{ dst: '0.0.0.0/0' }],
          dataDir: n.ipamDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'firewall', backend: 'iptables' },
    ],
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The definition of a list berth generated; undefined for any other list. */
export function bridgeNetworkOf(list: NetworkConfigList): BridgeNetwork | undefined {
  const bridge = list.plugins[0]?.raw;
  if (!bridge || bridge.type !== 'bridge' || typeof bridge.bridge !== 'string' || !isObject(bridge.ipam)) return undefined;
  const ranges = bridge.ipam.ranges;
  const range = Array.isArray(ranges) && Array.isArray(ranges[0]) ? (ranges[0][0] as unknown) : undefined;
  if (!isObject(range) || typeof range.subnet !== 'string') return undefined;
  const subnet = parseSubnet(range.subnet, `${list.source}: plugins[0].ipam.ranges[0][0].subnet`);
  const gateway = typeof range.gateway === 'string' ? range.gateway : formatIpv4(subnet.base + 1);
  const routes = bridge.ipam.routes;
  return {
    name: list.name,
    bridge: bridge.bridge,
    subnet: formatSubnet(subnet),
    gateway,
    internal: bridge.ipMasq !== true && Array.isArray(routes) && routes.length === 0,
    ipamDir: typeof bridge.ipam.dataDir === 'string' ? bridge.ipam.dataDir : '/var/lib/cni/networks',
  };
}

/** A container's address in a network, checked against its subnet (for --add-host and the hosts file). */
export function addressIn(n: BridgeNetwork, address: string): boolean {
  const a = parseIpv4(address);
  return a !== undefined && contains(parseSubnet(n.subnet), a);
}

/** The list that brings a container's loopback interface up (run with ifname "lo"). */
export const LOOPBACK_CONF_LIST = { cniVersion: BRIDGE_CNI_VERSION, name: 'berth-loopback', plugins: [{ type: 'loopback' }] };
