// A `berth run` container's network, from create to remove. Bridge and none: a network namespace
// pinned to a file before the container exists, brought up by CNI (loopback, then the network's
// bridge list with the published ports), joined by the container by path; remove runs CNI DEL
// from the result cache while the namespace still exists (the bridge plugin reads the addresses
// to unmasquerade from it), then unpins it. Host: the host's namespace and files.
//
// Name resolution between containers of one user network is an /etc/hosts that berth rewrites
// for every container on the network when one joins or leaves (under the network's lock). berth
// has no daemon that could run a resolver for the lifetime of a network, and a hosts file is
// read fresh by every lookup of the libcs containers use (glibc, musl, busybox). The files are
// rewritten in place: a bind mount of a file holds its inode, a renamed replacement would not show.

import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError } from '../oci/errors.ts';
import type { ImageConfig } from '../oci/image-spec.ts';
import type { Mount, Spec } from '../oci/runtime-spec.ts';
import { PRIVATE_DIR_MODE } from '../image/store-permissions.ts';
import { bridgeNetworkOf, DEFAULT_NETWORK, LOOPBACK_CONF_LIST } from '../network/bridge-network.ts';
import type { PortMapping } from '../network/capabilities.ts';
import { CniExecutor } from '../network/cni-executor.ts';
import { containerAddresses } from '../network/cni-result.ts';
import { parseConfList, type NetworkConfigList } from '../network/conflist.ts';
import { isNetnsPath } from '../network/netns-path.ts';
import { claimHostPorts } from '../network/host-ports.ts';
import { bridgeUnused, CNI_BIN_DIRS, deleteBridge } from '../network/network-store.ts';
import { exposedPorts, withExposed, type Published } from '../network/port-spec.ts';
import { pinNamespaces, unpinNamespaces } from '../runtime/namespace-pins.ts';
import { acquire } from './container-lock.ts';
import type { ContainerRecord } from './container-record.ts';
import { checkDns, hostsFileContent, resolvConfContent, type DnsOverrides, type HostEntry } from './network-files.ts';
import { saveRecord, type ServiceContext } from './service-context.ts';

export type NetworkMode = 'bridge' | 'none' | 'host';

/** What `run` asks for (`--network`, `-p`, `-P`, `--dns*`, `--add-host`); the hostname is the spec's. */
export interface NetworkRequest {
  mode: NetworkMode;
  /** The bridge network's list (mode bridge). */
  list?: NetworkConfigList;
  /** Mappings from -p; host port 0: a free one is chosen. */
  ports?: Published[];
  /** -P: also the image's ExposedPorts, on free host ports. */
  publishExposed?: boolean;
  dns?: DnsOverrides;
  addHosts?: HostEntry[];
  /** libcni's result cache: DEL finds the config and result there. */
  cacheDir: string;
  /** Where the container's namespace is pinned: <netnsDir>/<id>/net. */
  netnsDir: string;
  /** Where the networks' locks are (one per network: joins and leaves, of every store, queue on it). */
  locksDir: string;
  binDirs?: string[];
}

/** What the record keeps: enough for `port`, `ps`, the peers' hosts files and DEL after a restart. */
export interface ContainerNetwork {
  mode: NetworkMode;
  /** The bridge network's name and its host bridge. */
  network?: string;
  bridge?: string;
  /** The pinned namespace file (bridge, none). */
  netns?: string;
  ip?: string;
  gateway?: string;
  mac?: string;
  ports: PortMapping[];
  hostname: string;
  addHosts: HostEntry[];
  /** Peers on the network are in its /etc/hosts (user networks; docker's default bridge resolves no names). */
  resolvesPeers: boolean;
  cacheDir: string;
  locksDir: string;
  binDirs: string[];
}

const IFNAME = 'eth0';
const LOOPBACK = parseConfList(JSON.stringify(LOOPBACK_CONF_LIST), 'berth loopback network');

const readHostFile = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

function executor(net: Pick<ContainerNetwork, 'binDirs' | 'cacheDir'>): CniExecutor {
  return new CniExecutor({ binDirs: net.binDirs, cacheDir: net.cacheDir });
}

/**
 * Runs `fn` holding the network's lock: ADD and DEL on one network, the bridge's removal when its
 * last container leaves and the members' hosts files never interleave.
 */
async function withNetworkLock<T>(net: Pick<ContainerNetwork, 'locksDir'>, name: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(net.locksDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const lock = await acquire(join(net.locksDir, name));
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

const hostsPath = (ctx: ServiceContext, id: string): string => join(ctx.records.files(id).dir, 'hosts');

function peersOf(ctx: ServiceContext, network: string, except: string): Array<{ record: ContainerRecord; net: ContainerNetwork }> {
  return ctx.records
    .list()
    .filter((r) => r.id !== except && r.network?.mode === 'bridge' && r.network.network === network && r.network.ip)
    .map((r) => ({ record: r, net: r.network! }));
}

const entryOf = (record: ContainerRecord, net: ContainerNetwork): HostEntry => ({ ip: net.ip!, names: [record.name, net.hostname] });

/** Rewrites the hosts file of every container on the network (and the joining one's, if given). */
function refreshHosts(ctx: ServiceContext, network: string, except: string): void {
  const members = peersOf(ctx, network, except).filter((m) => m.net.resolvesPeers);
  for (const m of members) {
    const file = hostsPath(ctx, m.record.id);
    if (!existsSync(file)) continue;
    const peers = members.filter((o) => o.record.id !== m.record.id).map((o) => entryOf(o.record, o.net));
    writeFileSync(file, hostsFileContent({ extra: m.net.addHosts, self: { ip: m.net.ip, names: [m.net.hostname, m.record.name] }, peers }));
  }
}

function fileMount(destination: string, source: string): Mount {
  return { destination, type: 'bind', source, options: ['rbind', 'rprivate'] };
}

/**
 * Sets the container's network up and its spec to use it: namespace, /etc/hosts, resolv.conf,
 * hostname. Each step registers its undo with `onUndo` (create undoes them all on a failure).
 */
export async function attachNetwork(
  ctx: ServiceContext,
  record: ContainerRecord,
  req: NetworkRequest,
  spec: Spec,
  image: ImageConfig,
  onUndo: (undo: () => unknown) => void,
): Promise<ContainerNetwork> {
  const { dir } = ctx.records.files(record.id);
  const dns = checkDns(req.dns ?? { servers: [], search: [], options: [] });
  const net: ContainerNetwork = {
    mode: req.mode,
    ports: [],
    hostname: spec.hostname ?? record.id.slice(0, 12),
    addHosts: req.addHosts ?? [],
    resolvesPeers: false,
    cacheDir: req.cacheDir,
    locksDir: req.locksDir,
    binDirs: req.binDirs ?? CNI_BIN_DIRS,
  };
  const linux = (spec.linux ??= {});
  const others = (linux.namespaces ?? []).filter((n) => n.type !== 'network');
  const files = { hosts: join(dir, 'hosts'), resolv: join(dir, 'resolv.conf'), hostname: join(dir, 'hostname') };
  writeFileSync(files.hostname, `${net.hostname}\n`);
  writeFileSync(files.resolv, resolvConfContent(readHostFile('/etc/resolv.conf'), dns, req.mode !== 'host'));
  const mounts = [fileMount('/etc/hostname', files.hostname), fileMount('/etc/hosts', files.hosts), fileMount('/etc/resolv.conf', files.resolv)];
  spec.mounts = [...(spec.mounts ?? []).filter((m) => !mounts.some((n) => n.destination === m.destination)), ...mounts];
  if (req.mode === 'host') {
    linux.namespaces = others;
    writeFileSync(files.hosts, hostsFileContent({ hostHosts: readHostFile('/etc/hosts'), extra: net.addHosts, self: { names: [] }, peers: [] }));
    return net;
  }

  const list = req.list;
  if (req.mode === 'bridge') {
    if (!list) throw new BerthError('internal', 'a bridge network needs its configuration list', { field: 'network' });
    Object.assign(net, { network: list.name, bridge: bridgeNetworkOf(list)?.bridge, resolvesPeers: list.name !== DEFAULT_NETWORK });
  }
  const pinDir = join(req.netnsDir, record.id);
  const pinned = await pinNamespaces({ dir: pinDir, namespaces: ['network'] });
  onUndo(() => unpin(pinned.network!));
  net.netns = pinned.network!;
  linux.namespaces = [...others, { type: 'network', path: net.netns }];
  // Recorded at once: if this process dies from here on, `rm` of the half-made container DELs and unpins.
  record.network = net;
  saveRecord(ctx, record);
  const cni = executor(net);
  await cni.attach(LOOPBACK, { containerId: record.id, netnsPath: net.netns, ifname: 'lo' });
  onUndo(() => cni.detach(LOOPBACK, { containerId: record.id, ifname: 'lo', netnsPath: net.netns }));

  const self = { ip: undefined as string | undefined, names: [net.hostname, record.name] };
  if (req.mode === 'none') {
    writeFileSync(files.hosts, hostsFileContent({ extra: net.addHosts, self, peers: [] }));
    return net;
  }
  const name = list!.name;
  const wanted = withExposed(req.ports ?? [], req.publishExposed ? exposedPorts(image.config?.ExposedPorts) : []);
  await withNetworkLock(net, name, async () => {
    const claimed = ctx.records.list().flatMap((r) => (r.id === record.id ? [] : (r.network?.ports ?? [])));
    net.ports = await claimHostPorts(wanted, claimed);
    const result = await cni.attach(list!, { containerId: record.id, netnsPath: net.netns!, ifname: IFNAME, capabilities: { portMappings: net.ports } });
    onUndo(() => leave(ctx, record.id, net));
    const addr = containerAddresses(result, IFNAME).find((a) => !a.address.includes(':'));
    net.ip = self.ip = addr?.address.split('/')[0];
    net.gateway = addr?.gateway;
    net.mac = result.interfaces.find((i) => i.name === IFNAME && i.sandbox)?.mac;
    // Written with the record, under the lock: a container joining meanwhile sees this one.
    const peers = net.resolvesPeers ? peersOf(ctx, name, record.id).map((p) => entryOf(p.record, p.net)) : [];
    writeFileSync(files.hosts, hostsFileContent({ extra: net.addHosts, self, peers }));
    saveRecord(ctx, record);
    if (net.resolvesPeers) refreshHosts(ctx, name, '');
  });
  return net;
}

/**
 * Off the bridge network, under its lock: the peers' hosts files without it, CNI DEL, and the
 * bridge itself once nothing is attached to it (the bridge plugin makes it again for the next).
 */
async function leave(ctx: ServiceContext, id: string, net: ContainerNetwork): Promise<void> {
  const name = net.network!;
  await withNetworkLock(net, name, async () => {
    if (net.resolvesPeers) refreshHosts(ctx, name, id);
    await executor(net).detach(name, { containerId: id, ifname: IFNAME, ...(net.netns ? { netnsPath: net.netns } : {}) });
    if (net.bridge && bridgeUnused(net.bridge)) deleteBridge(net.bridge, name);
  });
}

/** Unmounts the pin and removes it with its folder; after a reboot there is nothing left to unmount. */
async function unpin(file: string): Promise<void> {
  if (await isNetnsPath(file)) await unpinNamespaces({ network: file });
  rmSync(file, { force: true });
  try {
    rmdirSync(dirname(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Takes the container off its network: peers' hosts files, CNI DEL, the pinned namespace. */
export async function detachNetwork(ctx: ServiceContext, record: ContainerRecord): Promise<void> {
  const net = record.network;
  if (!net) return;
  const cni = executor(net);
  if (net.mode === 'bridge' && net.network) await leave(ctx, record.id, net);
  if (net.mode !== 'host') await cni.detach(LOOPBACK, { containerId: record.id, ifname: 'lo', ...(net.netns ? { netnsPath: net.netns } : {}) });
  if (net.netns) await unpin(net.netns);
  delete record.network;
  saveRecord(ctx, record);
}
