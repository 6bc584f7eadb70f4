// The result of ADD (and the prevResult a plugin receives): interfaces, IPs, routes and DNS, read
// from any spoken version and written in the shape of the version a network speaks. Like libcni,
// a result is normalised through these types: unknown fields are dropped.

import { isIP } from 'node:net';
import { BerthError } from '../oci/errors.ts';
import { isSupportedCniVersion, resultShapeOf } from './cni-version.ts';

export interface CniInterface {
  name: string;
  mac?: string;
  /** The netns path (or VM id) for a container-side interface; absent for a host interface. */
  sandbox?: string;
  mtu?: number;
  socketPath?: string;
  pciID?: string;
}

export interface CniIpConfig {
  /** Address with prefix length, "10.88.0.5/16". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

class ResultReader {
  constructor(readonly source: string) {}

  fail(field: string, what: string): BerthError {
    return new BerthError('internal', `${this.source}: ${field}: ${what}`, { field });
  }

  list(obj: Json, key: string): unknown[] {
    const v = obj[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw this.fail(key, 'must be a list');
    return v;
  }

  object(v: unknown, field: string): Json {
    if (!isObject(v)) throw this.fail(field, 'must be an object');
    return v;
  }

  string(obj: Json, key: string, field: string, required = false): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null || (v === '' && !required)) {
      if (required) throw this.fail(`${field}.${key}`, 'is missing');
      return undefined;
    }
    if (typeof v !== 'string') throw this.fail(`${field}.${key}`, 'must be a string');
    return v;
  }

  int(obj: Json, key: string, field: string): number | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (!Number.isInteger(v) || (v as number) < 0) throw this.fail(`${field}.${key}`, 'must be a non-negative integer');
    return v as number;
  }

  cidr(obj: Json, key: string, field: string): string {
    const v = this.string(obj, key, field, true)!;
    const m = /^([^/]+)\/(\d{1,3})$/.exec(v);
    const family = m ? isIP(m[1]!) : 0;
    if (!m || !family || Number(m[2]) > (family === 4 ? 32 : 128)) {
      throw this.fail(`${field}.${key}`, `"${v}" is not an address in CIDR notation`);
    }
    return v;
  }

  ip(obj: Json, key: string, field: string): string | undefined {
    const v = this.string(obj, key, field);
    if (v !== undefined && !isIP(v)) throw this.fail(`${field}.${key}`, `"${v}" is not an IP address`);
    return v;
  }

  strings(obj: Json, key: string, field: string): string[] | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw this.fail(`${field}.${key}`, 'must be a list of strings');
    return v.length ? (v as string[]) : undefined;
  }
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * Reads a plugin's result. A result without a cniVersion is taken to be in the config's version
 * (libcni's fix-up for plugins that omit it).
 */
export function parseCniResult(value: unknown, configVersion: string, source = 'CNI result'): CniResult {
  const r = new ResultReader(source);
  const obj = r.object(value, '(top level)');
  const declared = obj.cniVersion;
  if (declared !== undefined && typeof declared !== 'string') throw r.fail('cniVersion', 'must be a string');
  const cniVersion = declared || configVersion;
  if (!isSupportedCniVersion(cniVersion)) {
    throw new BerthError('unimplemented', `${source}: cniVersion: result version "${cniVersion}" is not supported`, {
      field: 'cniVersion',
    });
  }
  const interfaces = r.list(obj, 'interfaces').map((v, i) => {
    const f = `interfaces[${i}]`;
    const o = r.object(v, f);
    return dropUndefined<CniInterface>({
      name: r.string(o, 'name', f, true)!,
      mac: r.string(o, 'mac', f),
      sandbox: r.string(o, 'sandbox', f),
      mtu: r.int(o, 'mtu', f),
      socketPath: r.string(o, 'socketPath', f),
      pciID: r.string(o, 'pciID', f),
    });
  });
  const ips = r.list(obj, 'ips').map((v, i) => {
    const f = `ips[${i}]`;
    const o = r.object(v, f);
    return dropUndefined<CniIpConfig>({ address: r.cidr(o, 'address', f), gateway: r.ip(o, 'gateway', f), interface: r.int(o, 'interface', f) });
  });
  const routes = r.list(obj, 'routes').map((v, i) => {
    const f = `routes[${i}]`;
    const o = r.object(v, f);
    return dropUndefined<CniRoute>({
      dst: r.cidr(o, 'dst', f),
      gw: r.ip(o, 'gw', f),
      mtu: r.int(o, 'mtu', f),
      advmss: r.int(o, 'advmss', f),
      priority: r.int(o, 'priority', f),
      table: r.int(o, 'table', f),
      scope: r.int(o, 'scope', f),
    });
  });
  const dnsValue = obj.dns ?? {};
  const d = r.object(dnsValue, 'dns');
  const dns = dropUndefined<CniDns>({
    nameservers: r.strings(d, 'nameservers', 'dns'),
    domain: r.string(d, 'domain', 'dns'),
    search: r.strings(d, 'search', 'dns'),
    options: r.strings(d, 'options', 'dns'),
  });
  return { cniVersion, interfaces, ips, routes, dns };
}

/** The result as JSON in the shape of `version` (0.4.0 adds `ips[].version`, keeps fewer interface fields). */
export function resultAsVersion(result: CniResult, version: string): Json {
  const old = resultShapeOf(version) === '0.4';
  const out: Json = { cniVersion: version };
  if (result.interfaces.length) {
    out.interfaces = result.interfaces.map((i) =>
      old ? dropUndefined({ name: i.name, mac: i.mac, sandbox: i.sandbox }) : dropUndefined({ ...i }),
    );
  }
  if (result.ips.length) {
    out.ips = result.ips.map((ip) =>
      dropUndefined({
        ...(old ? { version: isIP(ip.address.split('/')[0]!) === 4 ? '4' : '6' } : {}),
        interface: ip.interface,
        address: ip.address,
        gateway: ip.gateway,
      }),
    );
  }
  if (result.routes.length) out.routes = result.routes.map((r) => dropUndefined({ ...r }));
  if (Object.keys(result.dns).length) out.dns = { ...result.dns };
  return out;
}

/**
 * The addresses of the container's interface `ifname` (what a CRI pod status reports). IPs that
 * name no interface (a bare IPAM result) count as the container's.
 */
export function containerAddresses(result: CniResult, ifname: string): CniIpConfig[] {
  return result.ips.filter((ip) => {
    if (ip.interface === undefined) return true;
    const intf = result.interfaces[ip.interface];
    return intf !== undefined && intf.name === ifname && !!intf.sandbox;
  });
}
