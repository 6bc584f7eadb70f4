// Image references as docker normalises them (distribution/reference grammar):
//   [domain[:port]/]path[:tag][@digest]
// `busybox` -> docker.io/library/busybox:latest; `localhost:5000/x` keeps its domain.
import { invalid } from './errors.ts';
import { parseDigest, type Digest } from './digest.ts';
import { quote } from './quote.ts';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_MAX = 255;

export interface ImageReference {
  /** Registry host with optional port, e.g. `docker.io`, `localhost:5000`. */
  domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: Digest;
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?$`);
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[_.]|__|[-]+)[a-z0-9]+)*';
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const HEX64_RE = /^[a-f0-9]{64}$/;

/**
 * Parses a reference the way `docker pull` does and normalises it: default domain docker.io,
 * `library/` for official images, tag `latest` when neither tag nor digest is given.
 */
export function parseReference(input: string, field = 'reference'): ImageReference {
  const ref = parseNormalized(input, field);
  if (ref.tag === undefined && ref.digest === undefined) ref.tag = DEFAULT_TAG;
  return ref;
}

/** Like parseReference but without adding a default tag (for `rmi`, `images` filters...). */
export function parseNormalized(input: string, field = 'reference'): ImageReference {
  if (input === '') throw invalid('invalid reference: empty', { field });
  if (input.length > 512) throw invalid('invalid reference: too long', { field });
  if (HEX64_RE.test(input)) {
    throw invalid(`invalid repository name ${quote(input)}: cannot specify a 64-byte hexadecimal string`, { field });
  }
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = parseDigest(rest.slice(at + 1), field);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) throw invalid(`invalid reference ${quote(input)}: invalid tag ${quote(tag)}`, { field });
  }
  const { domain, path } = splitDomain(rest, input, field);
  if (!DOMAIN_RE.test(domain)) throw invalid(`invalid reference ${quote(input)}: invalid registry host ${quote(domain)}`, { field });
  if (path !== path.toLowerCase()) {
    throw invalid(`invalid reference ${quote(input)}: repository name must be lowercase`, { field });
  }
  if (!PATH_RE.test(path)) throw invalid(`invalid reference ${quote(input)}: invalid repository name ${quote(path)}`, { field });
  if (domain.length + 1 + path.length > NAME_TOTAL_MAX) {
    throw invalid(`invalid reference ${quote(input)}: repository name longer than ${NAME_TOTAL_MAX} characters`, { field });
  }
  const out: ImageReference = { domain, path };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

function splitDomain(name: string, input: string, field: string): { domain: string; path: string } {
  if (name === '') throw invalid(`invalid reference ${quote(input)}: empty repository name`, { field });
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  let domain: string;
  let path: string;
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

/** `docker.io/library/busybox` (no tag or digest). */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Fully qualified string: `docker.io/library/busybox:latest`, `host/x@sha256:...`, or both. */
export function formatReference(ref: ImageReference): string {
  let out = repositoryName(ref);
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** Short form docker prints: `busybox:latest`, `user/app:1`, `localhost:5000/x:y`. */
export function familiarReference(ref: ImageReference): string {
  let name = repositoryName(ref);
  if (ref.domain === DEFAULT_DOMAIN) {
    name = ref.path.startsWith(OFFICIAL_REPO_PREFIX) && ref.path.split('/').length === 2
      ? ref.path.slice(OFFICIAL_REPO_PREFIX.length)
      : ref.path;
  }
  if (ref.tag !== undefined) name += `:${ref.tag}`;
  if (ref.digest !== undefined) name += `@${ref.digest}`;
  return name;
}
