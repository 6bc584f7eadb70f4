// Host ports for published container ports. portmap only writes DNAT rules and never binds the
// port, so nothing would stop two containers (or a host server and a container) from claiming
// one: berth probes by binding it, as docker's proxy and podman's conmon hold theirs, and picks a
// free one (the kernel's choice for port 0) when none is given.

import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { precondition } from '../oci/errors.ts';
import type { PortMapping } from './capabilities.ts';

type Proto = 'tcp' | 'udp';

function bindOnce(proto: Proto, hostIP: string, port: number): Promise<number> {
  const address = hostIP || '0.0.0.0';
  return new Promise((resolve, reject) => {
    if (proto === 'udp') {
      const s = createSocket('udp4');
      s.once('error', (err) => {
        s.close();
        reject(err);
      });
      s.bind(port, address, () => {
        const got = s.address().port;
        s.close(() => resolve(got));
      });
      return;
    }
    const s = createServer();
    s.once('error', reject);
    s.listen({ port, host: address, exclusive: true }, () => {
      const got = (s.address() as { port: number }).port;
      s.close(() => resolve(got));
    });
  });
}

/**
 * Each mapping with its host port checked free (a port in use is a precondition error naming
 * `field`), or chosen when it is 0. `claimed` are ports other containers publish already.
 */
export async function claimHostPorts(mappings: readonly PortMapping[], claimed: readonly PortMapping[], field = '--publish'): Promise<PortMapping[]> {
  const out: PortMapping[] = [];
  // An address of '' or 0.0.0.0 is every address: it clashes with any other on the same port.
  const ip = (p: PortMapping): string => (p.hostIP === '0.0.0.0' ? '' : (p.hostIP ?? ''));
  const taken = (m: PortMapping, port: number): boolean =>
    [...claimed, ...out].some((c) => c.hostPort === port && (c.protocol ?? 'tcp') === (m.protocol ?? 'tcp') && (!ip(c) || !ip(m) || ip(c) === ip(m)));
  for (const m of mappings) {
    const proto = (m.protocol ?? 'tcp') as Proto;
    const where = `${m.hostIP ? `${m.hostIP}:` : ''}${m.hostPort}/${proto}`;
    if (m.hostPort !== 0 && taken(m, m.hostPort)) throw precondition(`${field}: host port ${where} is already published by another container`, { field });
    let port: number;
    for (let attempt = 0; ; attempt++) {
      try {
        port = await bindOnce(proto, m.hostIP ?? '', m.hostPort);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw precondition(`${field}: host port ${where} is already in use`, { field });
        if (code === 'EADDRNOTAVAIL') throw precondition(`${field}: ${m.hostIP} is not an address of this host`, { field });
        throw precondition(`${field}: cannot bind ${where}: ${(err as Error).message}`, { field });
      }
      if (m.hostPort !== 0 || !taken(m, port) || attempt > 20) break;
    }
    out.push({ ...m, hostPort: port! });
  }
  return out;
}
