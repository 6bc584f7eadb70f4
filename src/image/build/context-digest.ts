// The content digest of what a COPY or ADD takes from the build context: the entries each source
// selects (a path, a directory and everything below it, or a wildcard in Go's filepath.Match
// syntax), with their relative paths, types, permission bits, link targets and file digests.
// Owners are left out: COPY sets them (root, or --chown) whatever they are in the context.

import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { notFound } from '../../oci/errors.ts';
import type { Digest } from '../../oci/digest.ts';
import type { ContextEntry } from './context-walk.ts';
import { compilePattern } from './dockerignore.ts';

/** Context-relative form of a COPY source: `./a/../b/` -> `b`, `/x` -> `x`, `.` -> ``. */
export function contextPath(source: string): string {
  const p = posix.normalize(`/${source}`).slice(1);
  return p.endsWith('/') ? p.slice(0, -1) : p;
}

export function digestSources(entries: readonly ContextEntry[], sources: readonly string[]): Digest {
  const hash = createHash('sha256');
  for (const [n, source] of sources.entries()) {
    const root = contextPath(source);
    const wildcard = /[*?[]/.test(root);
    const match = wildcard ? compilePattern(root) : undefined;
    const roots = wildcard ? entries.filter((e) => match!(e.path)).map((e) => e.path) : [root];
    if (!wildcard && root !== '' && !entries.some((e) => e.path === root)) {
      throw notFound(`COPY source "${source}" is not in the build context (or is excluded by .dockerignore)`, { path: source });
    }
    hash.update(`source ${n}\n`); // the source text itself is in the step's key already
    for (const r of roots) {
      for (const e of entries) {
        if (r !== '' && e.path !== r && !e.path.startsWith(`${r}/`)) continue;
        const rel = r === '' ? e.path : e.path === r ? posix.basename(r) : e.path.slice(r.length + 1);
        hash.update(`${JSON.stringify([rel, e.type, e.mode, e.linkTarget ?? null, e.digest ?? (e.type === 'file' ? undefinedDigest(e) : null)])}\n`);
      }
    }
  }
  return `sha256:${hash.digest('hex')}`;
}

function undefinedDigest(e: ContextEntry): never {
  throw notFound(`no content digest for ${e.path}: walk the context with { digests: true }`, { path: e.path });
}
