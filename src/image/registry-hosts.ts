// Which endpoints serve a registry domain: mirrors first, then the registry itself, over HTTPS or
// plain HTTP. Read from <config>/registries.json:
//   { "registries": { "docker.io": { "mirrors": ["http://127.0.0.1:5001"] },
//                     "myreg:5000": { "insecure": true } } }
// Plain HTTP is used for hosts marked insecure and, like docker's default insecure range, for
// localhost, 127.0.0.0/8 and ::1 (set "insecure": false to force HTTPS for them).
import { join } from 'node:path';
import { invalid } from '../oci/errors.ts';
import { parseJsonDocument } from '../oci/json-document.ts';
import { isMissingFile, readDocumentFile } from './document-file.ts';
import { DEFAULT_DOMAIN } from '../oci/reference.ts';

export interface RegistryHostConfig {
  mirrors?: string[];
  insecure?: boolean;
}

export interface RegistriesConfig {
  registries: Record<string, RegistryHostConfig>;
}

export interface Endpoint {
  /** Base URL without a trailing slash, e.g. `https://registry-1.docker.io`. */
  url: string;
  /** The registry domain the endpoint serves (for credentials and errors). */
  domain: string;
  mirror: boolean;
}

export const REGISTRIES_FILE = 'registries.json';

export function loadRegistriesConfig(configDir: string | undefined): RegistriesConfig {
  if (!configDir) return { registries: {} };
  const path = join(configDir, REGISTRIES_FILE);
  let bytes: Buffer;
  try {
    bytes = readDocumentFile(path);
  } catch (err) {
    if (isMissingFile(err)) return { registries: {} };
    throw err;
  }
  return parseRegistriesConfig(bytes, path);
}

export function parseRegistriesConfig(text: string | Buffer, path = REGISTRIES_FILE): RegistriesConfig {
  const value = parseJsonDocument(text, path);
  const regs = (value as { registries?: unknown })?.registries ?? {};
  if (typeof regs !== 'object' || regs === null || Array.isArray(regs)) throw invalid(`${path}: registries must be an object`, { path, field: 'registries' });
  const out: RegistriesConfig = { registries: {} };
  for (const [host, cfg] of Object.entries(regs as Record<string, unknown>)) {
    const c = cfg as RegistryHostConfig;
    if (typeof c !== 'object' || c === null) throw invalid(`${path}: registries.${host} must be an object`, { path, field: `registries.${host}` });
    if (c.mirrors !== undefined && (!Array.isArray(c.mirrors) || c.mirrors.some((m) => typeof m !== 'string' || !/^https?:\/\/[^/]+/.test(m)))) {
      throw invalid(`${path}: registries.${host}.mirrors must be a list of http(s) URLs`, { path, field: `registries.${host}.mirrors` });
    }
    if (c.insecure !== undefined && typeof c.insecure !== 'boolean') throw invalid(`${path}: registries.${host}.insecure must be a boolean`, { path, field: `registries.${host}.insecure` });
    out.registries[host] = c;
  }
  return out;
}

export function isLoopbackHost(domain: string): boolean {
  const host = domain.startsWith('[') ? domain.slice(1, domain.indexOf(']')) : domain.split(':')[0]!;
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Endpoints to try in order for pulls; pushes use only the last (the registry itself). */
export function endpointsFor(domain: string, config: RegistriesConfig): Endpoint[] {
  const cfg = config.registries[domain] ?? {};
  const out: Endpoint[] = (cfg.mirrors ?? []).map((m) => ({ url: m.replace(/\/+$/, ''), domain, mirror: true }));
  const insecure = cfg.insecure ?? isLoopbackHost(domain);
  const host = domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : domain;
  out.push({ url: `${insecure ? 'http' : 'https'}://${host}`, domain, mirror: false });
  return out;
}
