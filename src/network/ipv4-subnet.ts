// IPv4 subnets for berth's bridge networks: parsing and checking CIDRs, the kernel's routes, and
// the choice of a subnet that no route of the host and no other network touches. Pure.

import { invalid } from '../oci/errors.ts';

export interface Subnet {
  /** The network address as a 32-bit number. */
  base: number;
  prefix: number;
}

/** An IPv4 address as a number, or undefined when it is not one in dotted-quad form. */
export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** "10.90.3.0/24"; the address must be the network's own (no host bits), as docker requires. */
export function parseSubnet(text: string, field = '--subnet'): Subnet {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  const addr = m ? parseIpv4(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (addr === undefined || !(prefix >= 8 && prefix <= 30)) throw invalid(`${field}: "${text}" is not an IPv4 subnet from /8 to /30 (such as 10.90.0.0/24)`, { field });
  if ((addr & ~mask(prefix)) >>> 0 !== 0) throw invalid(`${field}: "${text}" has host bits set (did you mean ${formatSubnet({ base: (addr & mask(prefix)) >>> 0, prefix })}?)`, { field });
  return { base: addr, prefix };
}

export const formatSubnet = (s: Subnet): string => `${formatIpv4(s.base)}/${s.prefix}`;

export function contains(s: Subnet, addr: number): boolean {
  return ((addr & mask(s.prefix)) >>> 0) === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

/** The first host address (docker's and podman's default gateway). */
export const firstHost = (s: Subnet): number => s.base + 1;

/** Whether the address can be given to a host of the subnet (not the network or broadcast address). */
export function isHostAddress(s: Subnet, addr: number): boolean {
  const broadcast = (s.base | ~mask(s.prefix)) >>> 0;
  return contains(s, addr) && addr !== s.base && addr !== broadcast;
}

/**
 * The routes of /proc/net/route (destination and mask in little-endian hex), except default
 * routes, which overlap everything and say nothing about which subnets are in use.
 */
export function parseProcNetRoute(text: string): Subnet[] {
  const out: Subnet[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const le = (hex: string): number => {
      const n = parseInt(hex, 16);
      return (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | (n >>> 24)) >>> 0;
    };
    const dest = le(f[1]!);
    const m = le(f[7]!);
    const prefix = Math.clz32(~m >>> 0); // the mask's leading ones
    if (prefix === 0) continue;
    out.push({ base: (dest & mask(prefix)) >>> 0, prefix });
  }
  return out;
}

/** Where berth looks for a network's subnet: 10.90.0.0/24, 10.90.1.0/24 ... 10.90.255.0/24. */
export const SUBNET_POOL: Subnet = { base: parseIpv4('10.90.0.0')!, prefix: 16 };

/** The first /24 of the pool that overlaps nothing in use (host routes, other networks). */
export function chooseSubnet(inUse: readonly Subnet[], pool: Subnet = SUBNET_POOL, prefix = 24): Subnet {
  const count = 2 ** (prefix - pool.prefix);
  for (let i = 0; i < count; i++) {
    const candidate = { base: (pool.base + i * 2 ** (32 - prefix)) >>> 0, prefix };
    if (!inUse.some((u) => overlaps(u, candidate))) return candidate;
  }
  throw invalid(`every /${prefix} of ${formatSubnet(pool)} is used by a route or a network: give one with --subnet`, { field: '--subnet' });
}
