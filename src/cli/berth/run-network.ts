// `berth run`'s network flags (--network, -p, -P, --dns*, --add-host, --hostname) read and checked
// before anything is made: an unknown network, a bad -p or a host port in use is a one-line error
// naming the flag. The default network is created here on first use.

import { hostname as hostHostname } from 'node:os';
import { invalid, unimplemented } from '../../oci/errors.ts';
import type { ContainerService } from '../../containers/index.ts';
import type { NetworkRequest } from '../../containers/container-network.ts';
import { checkDns, checkHostname, parseAddHost } from '../../containers/network-files.ts';
import { DEFAULT_NETWORK } from '../../network/bridge-network.ts';
import { claimHostPorts } from '../../network/host-ports.ts';
import { defaultNetwork, findNetwork, networkPaths } from '../../network/network-store.ts';
import { parsePublish } from '../../network/port-spec.ts';
import { list, str, type Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';

export interface RunNetwork {
  request: NetworkRequest;
  /** --hostname, or the host's for --network host; undefined: the container's short id. */
  hostname?: string;
}

/** The network part of a run, from its flags (the network looked up, -p's host ports probed). */
export async function readRunNetwork(ctx: CliContext, p: Parsed, service: ContainerService): Promise<RunNetwork> {
  const paths = networkPaths(ctx.configDir, ctx.root);
  const wanted = str(p.flags.network) ?? DEFAULT_NETWORK;
  const ports = list(p.flags.publish).flatMap((v) => parsePublish(v));
  const publishExposed = !!p.flags['publish-all'];
  const dns = checkDns({ servers: list(p.flags.dns), search: list(p.flags['dns-search']), options: list(p.flags['dns-option']) });
  const addHosts = list(p.flags['add-host']).map(parseAddHost);
  const given = str(p.flags.hostname);
  if (given !== undefined) checkHostname(given, '--hostname');
  const common = { dns, addHosts, cacheDir: paths.cacheDir, locksDir: paths.locksDir, netnsDir: paths.netnsDir };
  if (wanted === 'none' || wanted === 'host') {
    if (ports.length || publishExposed) throw invalid(`--publish: a container with --network ${wanted} has no ports to publish`, { field: '--publish' });
    return { request: { mode: wanted, ...common }, hostname: given ?? (wanted === 'host' ? hostHostname() : undefined) };
  }
  if (wanted.startsWith('container:')) throw unimplemented('--network container:NAME is not supported (none, host or a network name)', { field: '--network' });
  const stored = wanted === DEFAULT_NETWORK || wanted === 'bridge' || wanted === 'default' ? await defaultNetwork(paths) : findNetwork(paths, wanted);
  // Host ports given are probed now (the container service claims them again when it attaches).
  const claimed = service.list().flatMap((c) => c.network?.ports ?? []);
  await claimHostPorts(ports.filter((m) => m.hostPort !== 0), claimed);
  return { request: { mode: 'bridge', list: stored.list, ports, publishExposed, ...common }, hostname: given };
}
