// EXPOSE arguments as docker reads them: `80`, `80/udp`, `8000-8010/tcp` (a range exposes every
// port in it), protocols tcp (default), udp and sctp. A host part (`8080:80`) is accepted and
// ignored, as docker does.

export class PortError extends Error {}

function portRange(text: string): [number, number] {
  const parts = text.split('-');
  if (parts.length > 2 || parts.some((p) => !/^\d+$/.test(p) || Number(p) > 65535)) throw new PortError(`invalid port "${text}": expected a number 0-65535 or a range like 8000-8010`);
  const start = Number(parts[0]);
  const end = Number(parts[1] ?? parts[0]);
  if (end < start) throw new PortError(`invalid range specified for port: ${text}`);
  return [start, end];
}

/** "port/proto" keys, as in the image config's ExposedPorts. */
export function exposedPorts(spec: string): string[] {
  const colon = spec.lastIndexOf(':');
  const container = colon >= 0 ? spec.slice(colon + 1) : spec;
  const slash = container.indexOf('/');
  const port = slash >= 0 ? container.slice(0, slash) : container;
  const proto = (slash >= 0 ? container.slice(slash + 1) : 'tcp').toLowerCase();
  if (port === '') throw new PortError(`no port specified: ${spec}<empty>`);
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new PortError(`invalid proto: ${proto} (expected tcp, udp or sctp)`);
  const [start, end] = portRange(port);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}
