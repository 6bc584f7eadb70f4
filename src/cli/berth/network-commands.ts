// `berth network create|ls|inspect|rm` and `berth port`: the command line over berth's networks
// (src/network/network-store.ts) and the network part of container records.

import { quote } from '../../oci/quote.ts';
import { notFound, precondition } from '../../oci/errors.ts';
import { createNetwork, findNetwork, listNetworks, networkPaths, removeNetwork, type StoredNetwork } from '../../network/network-store.ts';
import { portLines } from '../../network/port-spec.ts';
import type { ContainerInfo } from '../../containers/index.ts';
import { str, type Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';
import { withService } from './container-records.ts';

const pathsOf = (ctx: CliContext) => networkPaths(ctx.configDir, ctx.root);

function printTable(ctx: CliContext, rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  ctx.stdout.write(rows.map((row) => row.map((c, i) => c.padEnd(widths[i]! + 3)).join('').trimEnd()).join('\n') + '\n');
}

export async function networkCreateCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const created = await createNetwork(pathsOf(ctx), {
    name: p.args[0]!,
    subnet: str(p.flags.subnet),
    gateway: str(p.flags.gateway),
    internal: !!p.flags.internal,
    bridge: str(p.flags['interface-name']),
  });
  ctx.stdout.write(`${created.list.name}\n`);
  return 0;
}

function describe(n: StoredNetwork): Record<string, unknown> {
  return n.bridge
    ? { name: n.list.name, driver: 'bridge', subnet: n.bridge.subnet, gateway: n.bridge.gateway, internal: n.bridge.internal, interface: n.bridge.bridge, file: n.file }
    : { name: n.list.name, driver: n.list.plugins.map((pl) => pl.type).join(','), file: n.file };
}

export async function networkLsCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const networks = listNetworks(pathsOf(ctx));
  if (p.flags.quiet) ctx.stdout.write(networks.map((n) => `${n.list.name}\n`).join(''));
  else if (p.flags.format === 'json') ctx.stdout.write(`${JSON.stringify(networks.map(describe))}\n`);
  else {
    const rows = networks.map((n) => [n.list.name, n.bridge ? 'bridge' : 'cni', n.bridge?.subnet ?? '', n.bridge?.gateway ?? '', n.bridge?.bridge ?? '', n.bridge?.internal ? 'true' : 'false']);
    printTable(ctx, [['NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'INTERFACE', 'INTERNAL'], ...rows]);
  }
  return 0;
}

const attachedTo = (containers: readonly ContainerInfo[], name: string): ContainerInfo[] => containers.filter((c) => c.network?.mode === 'bridge' && c.network.network === name);

export async function networkInspectCommand(ctx: CliContext, p: Parsed): Promise<number> {
  return withService(ctx, {}, async (service) => {
    const containers = service.list();
    const out = p.args.map((name) => {
      const n = findNetwork(pathsOf(ctx), name, 'network');
      const members = Object.fromEntries(attachedTo(containers, name).map((c) => [c.id, { name: c.name, ipv4Address: c.network!.ip, macAddress: c.network!.mac }]));
      return { ...describe(n), containers: members, config: JSON.parse(n.list.bytes) as unknown };
    });
    ctx.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  });
}

export async function networkRmCommand(ctx: CliContext, p: Parsed): Promise<number> {
  return withService(ctx, {}, async (service) => {
    const containers = service.list();
    for (const name of p.args) {
      findNetwork(pathsOf(ctx), name, 'network');
      const users = attachedTo(containers, name);
      if (users.length) throw precondition(`network ${quote(name)} is used by container(s) ${users.map((c) => c.name).join(', ')}: remove them first`, { field: 'network' });
      await removeNetwork(pathsOf(ctx), name);
      ctx.stdout.write(`${name}\n`);
    }
    return 0;
  });
}

/** `berth port CONTAINER [PRIVATE[/PROTO]]`, as `docker port`. */
export async function portCommand(ctx: CliContext, p: Parsed): Promise<number> {
  return withService(ctx, {}, async (service) => {
    const c = service.inspect(p.args[0]!);
    const filter = p.args[1];
    const lines = portLines(c.network?.ports ?? [], filter);
    if (filter !== undefined && !lines.length) throw notFound(`no public port ${quote(filter.includes('/') ? filter : `${filter}/tcp`)} published for ${c.name}`, { field: 'private port' });
    ctx.stdout.write(lines.map((l) => `${l}\n`).join(''));
    return 0;
  });
}
