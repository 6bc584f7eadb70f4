// Capability arguments: runtime data a plugin asks for by declaring a capability, passed to it
// under `runtimeConfig` (CNI CONVENTIONS.md). Only the capabilities a plugin declares reach it.

import { isIP } from 'node:net';
import { invalid } from '../oci/errors.ts';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: 'tcp' | 'udp' | 'sctp';
  /** Only this host address; all when absent. */
  hostIP?: string;
}

/** Rates in bits per second, bursts in bits (the bandwidth plugin's units). */
export interface BandwidthLimits {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

export interface IpRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface DnsCapability {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

/** What a runtime may pass; other well-known keys (`mac`, `ips`, `aliases`, `cgroupPath`...) pass as given. */
export interface CapabilityArgs {
  /** Entries without a host port are dropped (as containerd and cri-o do): nothing to publish. */
  portMappings?: Array<Omit<PortMapping, 'hostPort'> & { hostPort?: number }>;
  bandwidth?: BandwidthLimits;
  /** A list of range sets, each a list of ranges (host-local's `ranges` shape). */
  ipRanges?: IpRange[][];
  dns?: DnsCapability;
  [capability: string]: unknown;
}

const port = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

function portMappings(list: NonNullable<CapabilityArgs['portMappings']>): PortMapping[] {
  const out: PortMapping[] = [];
  list.forEach((m, i) => {
    const field = `portMappings[${i}]`;
    if (m.hostPort === undefined || m.hostPort === 0) return;
    if (!port(m.hostPort)) throw invalid(`${field}.hostPort: ${String(m.hostPort)} is not a port`, { field });
    if (!port(m.containerPort)) throw invalid(`${field}.containerPort: ${String(m.containerPort)} is not a port`, { field });
    const protocol = (m.protocol ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') {
      throw invalid(`${field}.protocol: "${m.protocol}" is not tcp, udp or sctp`, { field });
    }
    if (m.hostIP !== undefined && m.hostIP !== '' && !isIP(m.hostIP)) {
      throw invalid(`${field}.hostIP: "${m.hostIP}" is not an IP address`, { field });
    }
    out.push({ hostPort: m.hostPort, containerPort: m.containerPort, protocol, ...(m.hostIP ? { hostIP: m.hostIP } : {}) });
  });
  return out;
}

/**
 * The capability arguments as plugins receive them: port mappings checked and reduced to those
 * with a host port, empty values left out so a plugin never sees a capability with nothing in it.
 */
export function normalizeCapabilityArgs(args: CapabilityArgs = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined || value === null) continue;
    if (key === 'portMappings') {
      const mappings = portMappings(value as NonNullable<CapabilityArgs['portMappings']>);
      if (mappings.length) out.portMappings = mappings;
    } else if (key === 'bandwidth') {
      const b = value as BandwidthLimits;
      for (const [k, v] of Object.entries(b)) {
        if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw invalid(`bandwidth.${k}: must be a non-negative integer`, { field: `bandwidth.${k}` });
      }
      if (Object.values(b).some((v) => v)) out.bandwidth = b;
    } else if (Array.isArray(value)) {
      if (value.length) out[key] = value;
    } else if (typeof value === 'object') {
      if (Object.keys(value).length) out[key] = value;
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** libcni's injection rule: a plugin gets the arguments of the capabilities it declares, nothing else. */
export function runtimeConfigFor(capabilities: string[], capabilityArgs: Record<string, unknown>): Record<string, unknown> {
  const rc: Record<string, unknown> = {};
  for (const cap of capabilities) if (cap in capabilityArgs) rc[cap] = capabilityArgs[cap];
  return rc;
}
