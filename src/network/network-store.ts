// berth's networks on disk: one generated conflist per network in <config dir>/networks/ (the
// definition is the file: nothing else to keep in step), host-local's leases and the CNI result
// cache under the store root. Creating picks a subnet and a bridge name nobody uses; removing
// takes the bridge down with it. Callers make sure no container is attached before removing.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alreadyExists, BerthError, fromSystemError, invalid, notFound } from '../oci/errors.ts';
import { lockFile } from '../sys/flock.ts';
import { bridgeConfList, bridgeNetworkOf, checkBridgeNetwork, DEFAULT_NETWORK, type BridgeNetwork } from './bridge-network.ts';
import { validateIfname, validateNetworkName } from './cni-names.ts';
import { parseConfList, type NetworkConfigList } from './conflist.ts';
import { chooseSubnet, firstHost, formatIpv4, formatSubnet, overlaps, parseIpv4, parseProcNetRoute, parseSubnet, type Subnet } from './ipv4-subnet.ts';

/** Where Debian (and then the CNI project's own packages) install the plugins. */
export const CNI_BIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

export interface NetworkPaths {
  /** <config dir>/networks: the conflists. */
  confDir: string;
  /**
   * <config dir>/networks/ipam: host-local's leases, a folder per network. With the config, not
   * a store: every store that uses a network shares its bridge, so they share its addresses.
   */
  ipamDir: string;
  /** <config dir>/networks/locks: one lock per network, held while a container joins or leaves it. */
  locksDir: string;
  /** <root>/network/cache: libcni's result cache (it outlives a reboot: DEL after one frees the leases). */
  cacheDir: string;
  /**
   * /run/berth/netns: containers' pinned namespaces, a folder per container id, on the tmpfs that a
   * reboot empties (as podman's /run/netns and docker's /run/docker/netns), outside any store.
   */
  netnsDir: string;
}

export function networkPaths(configDir: string, root: string): NetworkPaths {
  const confDir = join(configDir, 'networks');
  return { confDir, ipamDir: join(confDir, 'ipam'), locksDir: join(confDir, 'locks'), cacheDir: join(root, 'network', 'cache'), netnsDir: '/run/berth/netns' };
}

export interface StoredNetwork {
  list: NetworkConfigList;
  /** Undefined for a conflist berth did not generate (it is still usable with --network). */
  bridge?: BridgeNetwork;
  file: string;
}

export interface CreateNetworkRequest {
  name: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  /** The bridge's name (podman's --interface-name); default: the first free berthN. */
  bridge?: string;
}

const fileOf = (paths: NetworkPaths, name: string): string => join(paths.confDir, `${name}.conflist`);

export function listNetworks(paths: NetworkPaths): StoredNetwork[] {
  if (!existsSync(paths.confDir)) return [];
  return readdirSync(paths.confDir)
    .filter((f) => f.endsWith('.conflist'))
    .sort()
    .map((f) => readNetworkFile(join(paths.confDir, f)));
}

function readNetworkFile(file: string): StoredNetwork {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fromSystemError(err, 'read network', file);
  }
  const list = parseConfList(text, file);
  return { list, bridge: bridgeNetworkOf(list), file };
}

/** The network called `name`; an unknown one is a not-found naming `field`. */
export function findNetwork(paths: NetworkPaths, name: string, field = '--network'): StoredNetwork {
  const file = fileOf(paths, name);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || !existsSync(file)) throw notFound(`${field}: no such network: "${name}" (see berth network ls)`, { field });
  return readNetworkFile(file);
}

const hostInterfaces = (): string[] => (existsSync('/sys/class/net') ? readdirSync('/sys/class/net') : []);

function hostRoutes(): Subnet[] {
  try {
    return parseProcNetRoute(readFileSync('/proc/net/route', 'utf8'));
  } catch {
    return [];
  }
}

/** Runs `fn` holding the networks' lock: two creates never pick the same subnet or bridge. */
async function withNetworksLock<T>(paths: NetworkPaths, fn: () => T): Promise<T> {
  mkdirSync(paths.confDir, { recursive: true, mode: 0o755 });
  const lock = await lockFile(join(paths.confDir, '.lock'));
  try {
    return fn();
  } finally {
    lock.release();
  }
}

/** The definition of a new network: subnet, gateway and bridge checked or chosen. Pure. */
export function planNetwork(
  req: CreateNetworkRequest,
  facts: { networks: readonly BridgeNetwork[]; routes: readonly Subnet[]; interfaces: readonly string[]; ipamDir: string },
): BridgeNetwork {
  validateNetworkName(req.name);
  if (facts.networks.some((n) => n.name === req.name)) throw alreadyExists(`network "${req.name}" already exists`, { field: 'name' });
  const taken = facts.networks.map((n) => parseSubnet(n.subnet));
  let subnet: Subnet;
  if (req.subnet !== undefined) {
    subnet = parseSubnet(req.subnet);
    const other = facts.networks.find((n) => overlaps(parseSubnet(n.subnet), subnet));
    if (other) throw invalid(`--subnet: ${req.subnet} overlaps network "${other.name}" (${other.subnet})`, { field: '--subnet' });
    const route = facts.routes.find((r) => overlaps(r, subnet));
    if (route) throw invalid(`--subnet: ${req.subnet} overlaps the host's route to ${formatSubnet(route)}`, { field: '--subnet' });
  } else {
    if (req.gateway !== undefined) throw invalid('--gateway needs --subnet', { field: '--gateway' });
    subnet = chooseSubnet([...taken, ...facts.routes]);
  }
  const gateway = req.gateway ?? formatIpv4(firstHost(subnet));
  if (parseIpv4(gateway) === undefined) throw invalid(`--gateway: "${gateway}" is not an IPv4 address`, { field: '--gateway' });
  const usedBridges = new Set([...facts.interfaces, ...facts.networks.map((n) => n.bridge)]);
  let bridge = req.bridge;
  if (bridge !== undefined) {
    validateIfname(bridge);
    if (usedBridges.has(bridge)) throw alreadyExists(`--interface-name: "${bridge}" is already an interface or another network's bridge`, { field: '--interface-name' });
  } else {
    for (let i = 0; bridge === undefined; i++) if (!usedBridges.has(`berth${i}`)) bridge = `berth${i}`;
  }
  const def: BridgeNetwork = { name: req.name, bridge, subnet: formatSubnet(subnet), gateway, internal: !!req.internal, ipamDir: facts.ipamDir };
  checkBridgeNetwork(def);
  return def;
}

export async function createNetwork(paths: NetworkPaths, req: CreateNetworkRequest): Promise<StoredNetwork> {
  return withNetworksLock(paths, () => {
    const networks = listNetworks(paths).flatMap((n) => (n.bridge ? [n.bridge] : []));
    if (existsSync(fileOf(paths, req.name))) throw alreadyExists(`network "${req.name}" already exists`, { field: 'name' });
    const def = planNetwork(req, { networks, routes: hostRoutes(), interfaces: hostInterfaces(), ipamDir: paths.ipamDir });
    const file = fileOf(paths, def.name);
    const text = `${JSON.stringify(bridgeConfList(def), null, 2)}\n`;
    writeFileSync(`${file}.tmp`, text, { mode: 0o644 });
    renameSync(`${file}.tmp`, file);
    return readNetworkFile(file);
  });
}

/** The default network, made on first use. */
export async function defaultNetwork(paths: NetworkPaths): Promise<StoredNetwork> {
  if (existsSync(fileOf(paths, DEFAULT_NETWORK))) return findNetwork(paths, DEFAULT_NETWORK);
  try {
    return await createNetwork(paths, { name: DEFAULT_NETWORK });
  } catch (err) {
    if (existsSync(fileOf(paths, DEFAULT_NETWORK))) return findNetwork(paths, DEFAULT_NETWORK); // made meanwhile
    throw err;
  }
}

/** Whether the bridge exists and no interface is attached to it (its last container has gone). */
export function bridgeUnused(bridge: string): boolean {
  const ports = `/sys/class/net/${bridge}/brif`;
  return existsSync(ports) && readdirSync(ports).length === 0;
}

/** Deletes a bridge (gone already: nothing to do). Its addresses, routes and sysctls go with it. */
export function deleteBridge(bridge: string, network: string): void {
  if (!existsSync(`/sys/class/net/${bridge}`)) return;
  try {
    execFileSync('ip', ['link', 'delete', bridge, 'type', 'bridge'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const detail = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new BerthError('internal', `network "${network}": cannot remove its bridge ${bridge}: ${detail}`, { field: 'network' });
  }
}

/** Removes the network's file, its leases and its bridge (no container may be attached). */
export async function removeNetwork(paths: NetworkPaths, name: string): Promise<void> {
  await withNetworksLock(paths, () => {
    const stored = findNetwork(paths, name, 'network');
    if (stored.bridge) {
      deleteBridge(stored.bridge.bridge, name);
      rmSync(join(stored.bridge.ipamDir, name), { recursive: true, force: true });
    }
    rmSync(stored.file);
  });
}
