// containers-registries.conf(5) version 2 — the file podman, cri-o, buildah and skopeo read:
//
//   unqualified-search-registries = ["docker.io"]
//   [[registry]]
//   prefix = "registry.k8s.io"          # or "*.example.com", or "host/namespace/repo"
//   location = "127.0.0.1:5000"         # where the prefix-rooted namespace really lives
//   insecure = true                     # plain HTTP (and unverified TLS) allowed
//   blocked = false
//   [[registry.mirror]]
//   location = "mirror.local/k8s"
//   pull-from-mirror = "digest-only"    # all | digest-only | tag-only
//
// Pure: parse the text, then resolve an image name to the ordered places to pull it from. The
// name the user gave stays the image's name; only where the bytes come from changes.

import { parse as parseToml } from 'smol-toml';
import { BerthError, invalid } from '../oci/errors.ts';
import type { ImageReference } from '../oci/reference.ts';

export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

export interface MirrorEntry {
  location: string;
  insecure: boolean;
  pullFromMirror: PullFromMirror;
}

export interface RegistryEntry {
  prefix: string;
  /** Empty for a wildcard prefix: the matched host itself. */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: MirrorEntry[];
}

export interface RegistriesConf {
  unqualifiedSearch: string[];
  registries: RegistryEntry[];
}

/** One place to pull from: a registry host and the repository there. */
export interface PullSource {
  domain: string;
  repository: string;
  insecure: boolean;
  mirror: boolean;
}

export const EMPTY_REGISTRIES_CONF: RegistriesConf = { unqualifiedSearch: [], registries: [] };

const MODES: readonly PullFromMirror[] = ['all', 'digest-only', 'tag-only'];

function fail(path: string, field: string, why: string): never {
  throw invalid(`${path}: ${field}: ${why}`, { path, field });
}

function str(value: unknown, path: string, field: string): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') fail(path, field, 'must be a string');
  return value;
}

function bool(value: unknown, path: string, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') fail(path, field, 'must be true or false');
  return value;
}

// host[:port][/path...] or *.host; no scheme, tag or digest
const LOCATION_RE = /^(?:\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+)(?::\d+)?(?:\/[a-z0-9._\-/]+)?$/;
const WILDCARD_RE = /^\*\.[a-zA-Z0-9.-]+$/;

function location(value: string, path: string, field: string): string {
  const v = value.replace(/\/+$/, '');
  if (/^[a-z]+:\/\//.test(v)) fail(path, field, `"${value}" must not have a scheme (use insecure = true for plain HTTP)`);
  if (!LOCATION_RE.test(v)) fail(path, field, `"${value}" is not host[:port][/namespace...]`);
  return v;
}

export function parseRegistriesConf(text: string, path = 'registries.conf'): RegistriesConf {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw invalid(`${path}: not valid TOML: ${(err as Error).message.split('\n')[0]}`, { path });
  }
  if ('registries' in doc && !Array.isArray(doc.registry)) {
    throw invalid(`${path}: the version 1 format ([registries.search] ...) is not supported: use [[registry]] tables`, { path, field: 'registries' });
  }
  const search = doc['unqualified-search-registries'] ?? [];
  if (!Array.isArray(search) || search.some((s) => typeof s !== 'string')) fail(path, 'unqualified-search-registries', 'must be a list of hosts');
  const tables = doc.registry ?? [];
  if (!Array.isArray(tables)) fail(path, 'registry', 'must be [[registry]] tables');
  const registries = tables.map((t, i): RegistryEntry => {
    const f = `registry[${i}]`;
    if (typeof t !== 'object' || t === null) fail(path, f, 'must be a table');
    const table = t as Record<string, unknown>;
    const rawPrefix = str(table.prefix, path, `${f}.prefix`);
    const rawLocation = str(table.location, path, `${f}.location`);
    if (!rawPrefix && !rawLocation) fail(path, f, 'needs a prefix or a location');
    const wildcard = WILDCARD_RE.test(rawPrefix);
    if (wildcard && rawLocation) fail(path, `${f}.location`, 'must be empty for a wildcard prefix');
    const prefix = wildcard ? rawPrefix : rawPrefix ? location(rawPrefix, path, `${f}.prefix`) : location(rawLocation, path, `${f}.location`);
    const byDigestOnly = bool(table['mirror-by-digest-only'], path, `${f}.mirror-by-digest-only`);
    const mirrors = table.mirror ?? [];
    if (!Array.isArray(mirrors)) fail(path, `${f}.mirror`, 'must be [[registry.mirror]] tables');
    return {
      prefix,
      location: wildcard ? '' : location(rawLocation || rawPrefix, path, `${f}.location`),
      insecure: bool(table.insecure, path, `${f}.insecure`),
      blocked: bool(table.blocked, path, `${f}.blocked`),
      mirrors: mirrors.map((m, j) => {
        const mf = `${f}.mirror[${j}]`;
        const mt = (m ?? {}) as Record<string, unknown>;
        const mode = str(mt['pull-from-mirror'], path, `${mf}.pull-from-mirror`) || (byDigestOnly ? 'digest-only' : 'all');
        if (!MODES.includes(mode as PullFromMirror)) fail(path, `${mf}.pull-from-mirror`, `"${mode}" is not one of ${MODES.join(', ')}`);
        return { location: location(str(mt.location, path, `${mf}.location`), path, `${mf}.location`), insecure: bool(mt.insecure, path, `${mf}.insecure`), pullFromMirror: mode as PullFromMirror };
      }),
    };
  });
  const seen = new Set<string>();
  for (const [i, r] of registries.entries()) {
    if (seen.has(r.prefix)) fail(path, `registry[${i}].prefix`, `"${r.prefix}" is configured twice`);
    seen.add(r.prefix);
  }
  return { unqualifiedSearch: search as string[], registries };
}

/** The length of the match of a prefix against "domain/repository", or -1 if it doesn't match. */
function matchLength(prefix: string, name: string, domain: string): number {
  if (prefix.startsWith('*.')) return domain.endsWith(prefix.slice(1)) && domain.length > prefix.length - 1 ? prefix.length : -1;
  if (name === prefix || name.startsWith(`${prefix}/`)) return prefix.length;
  return -1;
}

/** The [[registry]] table for a reference: the longest matching prefix. */
export function registryFor(ref: Pick<ImageReference, 'domain' | 'path'>, conf: RegistriesConf): RegistryEntry | undefined {
  const name = `${ref.domain}/${ref.path}`;
  let best: RegistryEntry | undefined;
  let bestLength = -1;
  for (const r of conf.registries) {
    const n = matchLength(r.prefix, name, ref.domain);
    if (n > bestLength) [best, bestLength] = [r, n];
  }
  return best;
}

function split(full: string): { domain: string; repository: string } {
  const slash = full.indexOf('/');
  return { domain: full.slice(0, slash), repository: full.slice(slash + 1) };
}

/**
 * Where to pull `ref` from, in order: the mirrors that apply to a tag or digest reference, then
 * the primary location. A blocked name is refused; `loopbackInsecure` says whether a host on
 * 127.0.0.0/8, ::1 or localhost defaults to plain HTTP (berth's and docker's default).
 */
export function pullSources(ref: ImageReference, conf: RegistriesConf, loopbackInsecure: (domain: string) => boolean): PullSource[] {
  const reg = registryFor(ref, conf);
  const name = `${ref.domain}/${ref.path}`;
  if (reg?.blocked) throw blockedError(name, reg.prefix);
  const rewrite = (loc: string): string => (reg && !reg.prefix.startsWith('*.') ? loc + name.slice(reg.prefix.length) : name);
  const sources: PullSource[] = [];
  for (const m of reg?.mirrors ?? []) {
    if (m.pullFromMirror === 'digest-only' && !ref.digest) continue;
    if (m.pullFromMirror === 'tag-only' && ref.digest) continue;
    const mirror = split(rewrite(m.location));
    sources.push({ ...mirror, insecure: m.insecure || loopbackInsecure(mirror.domain), mirror: true });
  }
  const primary = split(reg && reg.location ? rewrite(reg.location) : name);
  sources.push({ ...primary, insecure: reg ? reg.insecure || loopbackInsecure(primary.domain) : loopbackInsecure(primary.domain), mirror: false });
  return sources;
}

/** Where to push `ref`: its own registry (mirrors and locations only apply to pulls, as podman). */
export function pushSource(ref: ImageReference, conf: RegistriesConf, loopbackInsecure: (domain: string) => boolean): PullSource {
  const reg = registryFor(ref, conf);
  if (reg?.blocked) throw blockedError(`${ref.domain}/${ref.path}`, reg.prefix);
  return { domain: ref.domain, repository: ref.path, insecure: (reg?.insecure ?? false) || loopbackInsecure(ref.domain), mirror: false };
}

function blockedError(name: string, prefix: string): BerthError {
  return new BerthError('permission-denied', `registry access to ${name} is blocked by registries.conf (prefix "${prefix}")`, { field: 'registry.blocked' });
}
