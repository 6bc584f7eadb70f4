// docker's published-port notation: `-p [IP:][HOST:]CTR[/tcp|udp]` (ranges as FROM-TO, the same
// length on both sides), the image's ExposedPorts keys ("80/tcp"), and how `docker port` and
// `docker ps` print mappings. Pure.

import { invalid, unimplemented } from '../oci/errors.ts';
import type { PortMapping } from './capabilities.ts';
import { parseIpv4 } from './ipv4-subnet.ts';

export type PortProtocol = 'tcp' | 'udp';

/** A mapping as berth keeps it: hostPort 0 means "any free port" until one is claimed. */
export type Published = PortMapping & { protocol: PortProtocol };

function range(text: string, what: string, value: string, field: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(from >= 1 && to <= 65535 && from <= to)) throw invalid(`${field}: "${value}": ${what} "${text}" is not a port or a range of ports (1-65535)`, { field });
  return [from, to];
}

function protocolOf(text: string | undefined, value: string, field: string): PortProtocol {
  const p = (text ?? 'tcp').toLowerCase();
  if (p === 'sctp') throw unimplemented(`${field}: "${value}": sctp is not supported (tcp or udp)`, { field });
  if (p !== 'tcp' && p !== 'udp') throw invalid(`${field}: "${value}": "${text}" is not tcp or udp`, { field });
  return p;
}

/** One `-p` value as mappings (several for a range). */
export function parsePublish(value: string, field = '--publish'): Published[] {
  if (value.startsWith('[')) throw unimplemented(`${field}: "${value}": IPv6 host addresses are not supported`, { field });
  const [ports, proto, extra] = value.split('/');
  if (extra !== undefined || !ports) throw invalid(`${field}: "${value}" is not [IP:][HOST:]CONTAINER[/tcp|udp]`, { field });
  const protocol = protocolOf(proto, value, field);
  const parts = ports.split(':');
  if (parts.length > 3) throw invalid(`${field}: "${value}" is not [IP:][HOST:]CONTAINER[/tcp|udp]`, { field });
  const ctr = parts[parts.length - 1]!;
  const host = parts.length >= 2 ? parts[parts.length - 2]! : '';
  const ip = parts.length === 3 ? parts[0]! : '';
  if (ip && parseIpv4(ip) === undefined) throw invalid(`${field}: "${value}": "${ip}" is not an IPv4 address`, { field });
  const [c0, c1] = range(ctr, 'container port', value, field);
  const hostRange = host ? range(host, 'host port', value, field) : undefined;
  if (hostRange && hostRange[1] - hostRange[0] !== c1 - c0) {
    throw invalid(`${field}: "${value}": the host range ${host} and the container range ${ctr} differ in length`, { field });
  }
  const out: Published[] = [];
  for (let i = 0; i <= c1 - c0; i++) {
    out.push({ hostPort: hostRange ? hostRange[0] + i : 0, containerPort: c0 + i, protocol, ...(ip ? { hostIP: ip } : {}) });
  }
  return out;
}

/** The image's ExposedPorts ("80/tcp", "53/udp", "8000-8002/tcp") as mappings to free host ports (`-P`). */
export function exposedPorts(exposed: Record<string, unknown> | undefined): Published[] {
  return Object.keys(exposed ?? {}).flatMap((key) => {
    const [ports, proto] = key.split('/');
    if ((proto ?? 'tcp').toLowerCase() === 'sctp') return [];
    const [from, to] = range(ports ?? '', 'exposed port', key, 'ExposedPorts');
    const protocol = protocolOf(proto, key, 'ExposedPorts');
    return Array.from({ length: to - from + 1 }, (_, i) => ({ hostPort: 0, containerPort: from + i, protocol }));
  });
}

/** -P's mappings for ports no -p names already (a -p for the same port wins, as docker). */
export function withExposed(explicit: readonly Published[], exposed: readonly Published[]): Published[] {
  const named = new Set(explicit.map((p) => `${p.containerPort}/${p.protocol}`));
  return [...explicit, ...exposed.filter((p) => !named.has(`${p.containerPort}/${p.protocol}`))];
}

const hostSide = (p: PortMapping): string => `${p.hostIP || '0.0.0.0'}:${p.hostPort}`;

/** `docker port` lines: "80/tcp -> 0.0.0.0:8080", optionally only for "80" or "80/udp". */
export function portLines(ports: readonly PortMapping[], filter?: string): string[] {
  let wanted: ((p: PortMapping) => boolean) | undefined;
  if (filter !== undefined) {
    const [port, proto] = filter.split('/');
    const n = Number(port);
    if (!/^\d{1,5}$/.test(port ?? '') || n < 1 || n > 65535) throw invalid(`"${filter}" is not PORT[/PROTO]`, { field: 'private port' });
    const protocol = protocolOf(proto, filter, 'private port');
    wanted = (p) => p.containerPort === n && (p.protocol ?? 'tcp') === protocol;
  }
  const shown = wanted ? ports.filter(wanted) : ports;
  return shown.map((p) => (filter !== undefined ? hostSide(p) : `${p.containerPort}/${p.protocol ?? 'tcp'} -> ${hostSide(p)}`));
}

/** `docker ps`'s PORTS column: "0.0.0.0:8080->80/tcp, 127.0.0.1:9000->90/udp". */
export function portsColumn(ports: readonly PortMapping[]): string {
  return ports.map((p) => `${hostSide(p)}->${p.containerPort}/${p.protocol ?? 'tcp'}`).join(', ');
}
