// libcni's result cache record, byte-compatible with what libcni writes to
// <cache dir>/results/<network>-<container id>-<ifname>: {"kind":"cniCacheV1", ...} with the
// network list as base64 (a Go []byte), the CNI_ARGS pairs, the capability arguments and the
// result of ADD. Older libcni wrote the bare result to the same path; that is read too.

import type { CniArgs } from './cni-args.ts';

export const CACHE_KIND = 'cniCacheV1';

export interface CacheRecord {
  containerId: string;
  networkName: string;
  ifname: string;
  netns?: string;
  cniArgs?: CniArgs;
  capabilityArgs?: Record<string, unknown>;
  /** The network list's JSON as used for ADD; absent in a legacy record. */
  config?: string;
  /** The result of ADD in the list's version, as JSON. */
  result?: Record<string, unknown>;
}

export function cacheFileName(network: string, containerId: string, ifname: string): string {
  return `${network}-${containerId}-${ifname}`;
}

export function encodeCacheRecord(r: CacheRecord): string {
  // Key order and omissions follow libcni's cachedInfo struct.
  const out: Record<string, unknown> = {
    kind: CACHE_KIND,
    containerId: r.containerId,
    config: Buffer.from(r.config ?? '', 'utf8').toString('base64'),
    ifName: r.ifname,
    networkName: r.networkName,
  };
  if (r.netns) out.netns = r.netns;
  if (r.cniArgs?.length) out.cniArgs = r.cniArgs;
  if (r.capabilityArgs && Object.keys(r.capabilityArgs).length) out.capabilityArgs = r.capabilityArgs;
  if (r.result) out.result = r.result;
  return JSON.stringify(out);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function cniArgsOf(v: unknown): CniArgs | undefined {
  if (!Array.isArray(v)) return undefined;
  const pairs = v.filter((p): p is [string, string] => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string'));
  return pairs.length ? pairs : undefined;
}

/**
 * Reads a cache file's text. `expect` names the attachment the file is for (from its path): a
 * legacy record (a bare result) takes its identity from it, and without it is not read (as
 * libcni's listing of attachments skips it). Undefined when the text is neither.
 */
export function decodeCacheRecord(
  text: string,
  expect?: { networkName: string; containerId: string; ifname: string },
): CacheRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(v)) return undefined;
  if (v.kind !== CACHE_KIND) return expect && typeof v.cniVersion === 'string' ? { ...expect, result: v } : undefined;
  const str = (x: unknown) => (typeof x === 'string' && x ? x : undefined);
  const containerId = str(v.containerId) ?? expect?.containerId;
  const networkName = str(v.networkName) ?? expect?.networkName;
  const ifname = str(v.ifName) ?? expect?.ifname;
  if (!containerId || !networkName || !ifname) return undefined;
  const config = typeof v.config === 'string' && v.config ? Buffer.from(v.config, 'base64').toString('utf8') : undefined;
  const record: CacheRecord = { containerId, networkName, ifname };
  if (str(v.netns)) record.netns = v.netns as string;
  const args = cniArgsOf(v.cniArgs);
  if (args) record.cniArgs = args;
  if (isObject(v.capabilityArgs)) record.capabilityArgs = v.capabilityArgs;
  if (config) record.config = config;
  if (isObject(v.result)) record.result = v.result;
  return record;
}
