// Where registries are: containers-registries.conf(5) (registries-conf.ts decides, per image,
// the places to pull from), read from berth's config dir or /etc/containers/registries.conf; and
// the endpoint URL of a host: HTTPS, or plain HTTP for hosts marked insecure and, like docker's
// default insecure range, for localhost, 127.0.0.0/8 and ::1.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DOMAIN } from '../oci/reference.ts';
import { isMissingFile, readDocumentFile } from './document-file.ts';
import { EMPTY_REGISTRIES_CONF, parseRegistriesConf, type RegistriesConf } from './registries-conf.ts';

export interface Endpoint {
  /** Base URL without a trailing slash, e.g. `https://registry-1.docker.io`. */
  url: string;
  /** The registry domain the endpoint serves (for credentials and errors). */
  domain: string;
}

/** The file podman, skopeo and cri-o read; berth and berthd read it too. */
export const SYSTEM_REGISTRIES_CONF = '/etc/containers/registries.conf';
export const REGISTRIES_CONF_FILE = 'registries.conf';

/** `<configDir>/registries.conf` when it exists, else the system file. */
export function registriesConfPath(configDir: string | undefined): string {
  if (configDir) {
    const own = join(configDir, REGISTRIES_CONF_FILE);
    if (existsSync(own)) return own;
  }
  return SYSTEM_REGISTRIES_CONF;
}

/** Reads and checks a registries.conf (under the document cap); a missing file is an empty configuration. */
export function loadRegistriesConf(path: string): RegistriesConf {
  let bytes: Buffer;
  try {
    bytes = readDocumentFile(path);
  } catch (err) {
    if (isMissingFile(err)) return EMPTY_REGISTRIES_CONF;
    throw err;
  }
  return parseRegistriesConf(bytes.toString('utf8'), path);
}

export function isLoopbackHost(domain: string): boolean {
  const host = domain.startsWith('[') ? domain.slice(1, domain.indexOf(']')) : domain.split(':')[0]!;
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The URL of a registry host: docker.io is served by registry-1.docker.io. */
export function endpointFor(domain: string, insecure: boolean): Endpoint {
  const host = domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : domain;
  return { url: `${insecure ? 'http' : 'https'}://${host}`, domain };
}
