// COPY and ADD into a step's mounted root filesystem, with BuildKit's rules: a directory source
// copies its contents, a file goes into a destination ending in `/` (or an existing directory, or
// when several sources are given) and otherwise becomes the destination; wildcards in Go's
// filepath.Match syntax; `--chown` names resolved in the stage's /etc/passwd and /etc/group;
// `--chmod`; heredoc files; ADD extracts local tar archives (gzip, zstd or plain, through the
// layer unpacker's checks into a private directory first) and downloads http(s) URLs (checked
// against `--checksum` when given). A source that climbs out of the context with `..` is refused.
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { createReadStream } from 'node:fs';
import { BerthError, invalid, notFound, unimplemented } from '../../oci/errors.ts';
import type { CopyStep } from '../../image/build/plan-types.ts';
import { compilePattern } from '../../image/build/dockerignore.ts';
import { contextPath } from '../../image/build/context-digest.ts';
import { LayeredRootfs } from '../../image/rootfs-view.ts';
import { MAX_ID_FILE_BYTES, parseGroup, parsePasswd } from '../../image/image-user.ts';
import { unpackLayer } from '../../image/unpack-layer.ts';
import { sniffCompression } from '../../image/decompress.ts';
import { checkInContext, mkdirInRoot, resolveInRoot, statInRoot } from './rootfs-path.ts';
import { TreeCopier, type SourceTree } from './tree-copy.ts';
import type { FetchedUrl } from './url-fetch.ts';

export interface CopyEnv {
  /** The step's mounted root filesystem. */
  rootfs: string;
  /** Where the source paths live: the context, or another stage's or an image's mounted root. */
  source: SourceTree;
  /** Relative paths of every context entry the build may read (for wildcards); with `source.allowed`. */
  contextPaths?: readonly string[];
  /** A private scratch directory (removed by the caller). */
  scratch: string;
  /** Downloads an ADD URL (memoised by the caller: the cache key may have needed it already). */
  fetchUrl: (url: string) => Promise<FetchedUrl>;
}

const URL_RE = /^https?:\/\//;
const GIT_RE = /^(git@|git:\/\/|ssh:\/\/)|^https?:\/\/\S+\.git(#.*)?$|^github\.com\//;

/** `--chown` as BuildKit reads it: a name takes its passwd gid, a number alone is uid and gid. */
export async function resolveChown(rootfs: string, chown: string): Promise<{ uid: number; gid: number }> {
  const [userPart, groupPart, extra] = chown.split(':');
  if (extra !== undefined || !userPart) throw invalid(`--chown=${chown}: expected user[:group]`, { field: '--chown' });
  const view = new LayeredRootfs([rootfs]);
  const numeric = (s: string): number | undefined => (/^\d+$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : undefined);
  let uid = numeric(userPart);
  let gid = uid;
  if (uid === undefined) {
    const text = await view.readFile('/etc/passwd', MAX_ID_FILE_BYTES);
    const entry = text ? parsePasswd(text.toString('utf8')).find((p) => p.name === userPart) : undefined;
    if (!entry) throw notFound(`--chown=${chown}: unable to find user ${userPart} in the stage's /etc/passwd`, { field: '--chown' });
    uid = entry.uid;
    gid = entry.gid;
  }
  if (groupPart !== undefined && groupPart !== '') {
    gid = numeric(groupPart);
    if (gid === undefined) {
      const text = await view.readFile('/etc/group', MAX_ID_FILE_BYTES);
      const entry = text ? parseGroup(text.toString('utf8')).find((g) => g.name === groupPart) : undefined;
      if (!entry) throw notFound(`--chown=${chown}: unable to find group ${groupPart} in the stage's /etc/group`, { field: '--chown' });
      gid = entry.gid;
    }
  }
  return { uid, gid: gid! };
}

function hasWildcard(p: string): boolean {
  return /[*?[]/.test(p);
}

/** Source entries a pattern selects in a tree without an entry list: matched component by component. */
function expandInTree(root: string, rel: string): string[] {
  let current: string[][] = [[]];
  for (const comp of rel.split('/')) {
    const next: string[][] = [];
    for (const parts of current) {
      if (!hasWildcard(comp)) {
        if (statInRoot(root, [...parts, comp])) next.push([...parts, comp]);
        continue;
      }
      const st = statInRoot(root, parts);
      if (!st?.isDirectory()) continue;
      const match = compilePattern(comp);
      let names: string[] = [];
      try {
        names = readdirSorted(join(root, ...parts));
      } catch {
        names = [];
      }
      for (const n of names) if (match(n)) next.push([...parts, n]);
    }
    current = next;
  }
  return current.map((p) => p.join('/'));
}

const readdirSorted = (dir: string): string[] => readdirSync(dir).sort();

interface Selected {
  /** Relative to the source root, every symlink resolved. */
  rel: string;
  isDir: boolean;
  tree: SourceTree;
}

function selectSources(step: CopyStep, env: CopyEnv, source: string): Selected[] {
  const tree = env.source;
  checkInContext(source, step.add ? 'ADD' : 'COPY');
  const rel = contextPath(source);
  let candidates: string[];
  if (hasWildcard(rel)) {
    const match = compilePattern(rel);
    candidates = env.contextPaths ? env.contextPaths.filter((p) => match(p)) : expandInTree(tree.root, rel);
    if (candidates.length === 0) throw notFound(`${step.add ? 'ADD' : 'COPY'} ${source}: no source files were specified (nothing matches in the ${tree.what})`, { path: source });
  } else candidates = [rel];
  const out: Selected[] = [];
  for (const c of candidates) {
    // The source path itself follows symlinks, inside its root only (BuildKit's FollowLinks).
    const parts = c === '' ? [] : resolveInRoot(tree.root, c);
    const resolved = parts.join('/');
    const st = statInRoot(tree.root, parts);
    if (!st || (tree.allowed && resolved !== '' && !tree.allowed.has(resolved))) {
      throw notFound(`${step.add ? 'ADD' : 'COPY'} ${source}: "${c === '' ? '.' : c}" not found in the ${tree.what}${tree.allowed ? ' (or excluded by .dockerignore)' : ''}`, { path: source });
    }
    out.push({ rel: resolved, isDir: st.isDirectory(), tree });
  }
  return out;
}

/** The kind of archive a file is, from its first bytes; undefined when it is not one. */
function archiveKind(path: string): 'gzip' | 'zstd' | 'none' | 'bzip2' | 'xz' | undefined {
  const head = Buffer.alloc(512);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (n >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  const c = sniffCompression(head.subarray(0, n));
  if (c !== 'none') return c;
  if (n === 512 && head.toString('latin1', 257, 262) === 'ustar') return 'none';
  return undefined;
}

export async function executeCopy(step: CopyStep, env: CopyEnv): Promise<number> {
  const what = step.add ? 'ADD' : 'COPY';
  if (step.parents) throw unimplemented(`${what} --parents is not supported by berth build yet`, { field: '--parents' });
  if (step.exclude.length) throw unimplemented(`${what} --exclude is not supported by berth build yet`, { field: '--exclude' });
  const owner = step.chown !== undefined ? await resolveChown(env.rootfs, step.chown) : undefined;
  const dirOwner = { uid: owner?.uid ?? 0, gid: owner?.gid ?? 0 };
  const rules = { ...(owner ? { owner } : {}), ...(step.chmod !== undefined ? { chmod: step.chmod } : {}) };
  const contextCopier = new TreeCopier(env.source, env.rootfs, rules);
  const known = new Set<string>();

  // What to copy: sources of the tree, downloads and heredoc files (each from its own directory).
  const items: Selected[] = [];
  const archives: Selected[] = [];
  for (const s of step.sources) {
    if (step.add && GIT_RE.test(s)) throw unimplemented(`ADD ${s}: git sources are not supported by berth build yet`, { path: s });
    if (step.add && URL_RE.test(s)) {
      const got = await env.fetchUrl(s);
      items.push({ rel: got.name, isDir: false, tree: { root: got.dir, preserveOwners: false, what: s } });
      continue;
    }
    for (const sel of selectSources(step, env, s)) {
      const unpack = step.add && step.unpack !== false && !sel.isDir && env.source.allowed !== undefined;
      const kind = unpack ? archiveKind(join(sel.tree.root, sel.rel)) : undefined;
      if (kind === 'bzip2' || kind === 'xz') throw unimplemented(`ADD ${s}: ${kind} archives are not extracted by berth build yet (gzip, zstd and plain tar are)`, { path: s });
      (kind ? archives : items).push(sel);
    }
  }
  if (step.inline.length) {
    const dir = join(env.scratch, `heredoc-${randomUUID()}`);
    mkdirSync(dir, { mode: 0o700 });
    for (const h of step.inline) {
      writeFileSync(join(dir, h.name), h.content, { mode: 0o644 });
      items.push({ rel: h.name, isDir: false, tree: { root: dir, preserveOwners: false, what: 'heredoc' } });
    }
  }

  const count = items.length + archives.length;
  if (count === 0) throw invalid(`${what}: no source files were specified`);
  const destParts = resolveInRoot(env.rootfs, step.dest);
  const destStat = statInRoot(env.rootfs, destParts);
  const intoDir = step.dest.endsWith('/') || count > 1 || archives.length > 0 || destStat?.isDirectory() === true;
  if (count > 1 && !step.dest.endsWith('/') && !destStat?.isDirectory()) {
    throw invalid(`${what}: when using ${what} with more than one source file, the destination must be a directory and end with a /`, { path: step.dest });
  }
  let copied = 0;
  for (const item of items) {
    const copier = item.tree === env.source ? contextCopier : new TreeCopier(item.tree, env.rootfs, { ...rules, ...(item.tree.what !== 'heredoc' && URL_RE.test(item.tree.what) ? { chmod: step.chmod ?? 0o600 } : {}) });
    if (item.isDir) {
      mkdirInRoot(env.rootfs, destParts.slice(0, -1), dirOwner, known);
      copier.copy(item.rel, destParts, true);
    } else {
      const target = intoDir ? [...destParts, posix.basename(item.rel)] : destParts;
      mkdirInRoot(env.rootfs, target.slice(0, -1), dirOwner, known);
      copier.copy(item.rel, target, false);
    }
    if (copier !== contextCopier) copied += copier.copied;
  }
  for (const a of archives) {
    const dir = join(env.scratch, `archive-${randomUUID()}`);
    mkdirSync(dir, { mode: 0o700 });
    try {
      const path = join(a.tree.root, a.rel);
      await unpackLayer(createReadStream(path), { dir, compression: archiveKind(path) as 'gzip' | 'zstd' | 'none', what: `${what} ${a.rel}` });
      mkdirInRoot(env.rootfs, destParts, dirOwner, known);
      const copier = new TreeCopier({ root: dir, preserveOwners: true, what: a.rel }, env.rootfs, { ...(owner ? { owner } : {}) });
      copier.copy('', destParts, true);
      copied += copier.copied;
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw new BerthError('internal', `${what} ${a.rel}: ${(err as Error).message}`, { path: a.rel }, { cause: err });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return copied + contextCopier.copied;
}
