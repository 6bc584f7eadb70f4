// Registry authentication: WWW-Authenticate challenges (RFC 7235), credentials from berth's
// <config>/auth.json and Docker's config.json `auths`, and bearer tokens from the challenge's realm
// (distribution "token authentication specification").
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BerthError, invalid, fromSystemError } from '../oci/errors.ts';
import { DEFAULT_DOMAIN } from '../oci/reference.ts';
import { parseJsonDocument } from '../oci/json-document.ts';
import { isMissingFile, readDocumentFile } from './document-file.ts';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header into its challenges (scheme lower-cased). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipWs = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  skipWs();
  while (i < s.length) {
    const scheme = token();
    if (!scheme) break;
    const ch: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(ch);
    for (;;) {
      while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
      const save = i;
      const key = token();
      while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
      if (!key || s[i] !== '=') {
        i = save;
        break;
      }
      i++;
      while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        value = token();
      }
      ch.params[key.toLowerCase()] = value;
      while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
      if (s[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    skipWs();
  }
  return out;
}

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (Docker's `identitytoken`): exchanged at the token service. */
  identityToken?: string;
  /** A bearer token sent to the registry as it is. */
  registryToken?: string;
}

/** Maps the keys Docker writes (`https://index.docker.io/v1/`, `registry-1.docker.io`) to domains. */
export function normaliseAuthKey(key: string): string {
  let host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') host = DEFAULT_DOMAIN;
  return host;
}

export function decodeAuth(value: string, where: string): Credentials {
  const text = Buffer.from(value, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) throw invalid(`${where}: "auth" is not base64 of user:password`, { path: where });
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function encodeAuth(c: Credentials): string {
  return Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64');
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  [k: string]: unknown;
}

function readAuthFile(path: string): AuthFile | undefined {
  let bytes: Buffer;
  try {
    bytes = readDocumentFile(path);
  } catch (err) {
    if (isMissingFile(err)) return undefined;
    throw err;
  }
  const v = parseJsonDocument(bytes, path);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${path}: not a JSON object`, { path });
  return v as AuthFile;
}

function lookupIn(file: AuthFile | undefined, domain: string, where: string): Credentials | undefined {
  for (const [key, entry] of Object.entries(file?.auths ?? {})) {
    if (normaliseAuthKey(key) !== domain || typeof entry !== 'object' || entry === null) continue;
    if (entry.auth) return decodeAuth(entry.auth, where);
    if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  }
  return undefined;
}

export interface CredentialSources {
  /** berth's config dir holding auth.json (written by `berth login`). */
  configDir?: string;
  /** Docker's config.json; defaults to $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
  dockerConfig?: string | null;
}

export function dockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** Credentials for a registry domain: berth's auth.json first, then Docker's config.json. */
export function lookupCredentials(domain: string, sources: CredentialSources): Credentials | undefined {
  if (sources.configDir) {
    const path = join(sources.configDir, 'auth.json');
    const c = lookupIn(readAuthFile(path), domain, path);
    if (c) return c;
  }
  const docker = sources.dockerConfig === undefined ? dockerConfigPath() : sources.dockerConfig;
  if (docker) return lookupIn(readAuthFile(docker), domain, docker);
  return undefined;
}

/** Stores (or with `undefined`, removes) a login in <configDir>/auth.json, mode 0600, atomically. */
export function storeCredentials(configDir: string, domain: string, creds: Credentials | undefined): boolean {
  const path = join(configDir, 'auth.json');
  const file = readAuthFile(path) ?? {};
  const auths = { ...(file.auths ?? {}) };
  let changed = false;
  for (const key of Object.keys(auths)) {
    if (normaliseAuthKey(key) === domain) {
      delete auths[key];
      changed = true;
    }
  }
  if (creds) {
    auths[domain] = { auth: encodeAuth(creds) };
    changed = true;
  }
  try {
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ ...file, auths }, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    throw fromSystemError(err, 'write', path);
  }
  return changed;
}

export function authRefused(domain: string, detail: string): BerthError {
  return new BerthError('permission-denied', `registry ${domain} refused authentication: ${detail}`, { field: 'credentials' });
}
