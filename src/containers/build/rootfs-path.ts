// Paths inside a build step's root filesystem (a mounted overlay, or the build context), resolved
// as BuildKit scopes them: symlinks are followed inside the root only, an absolute target is taken
// from the root, and `..` never climbs above it. Every lookup is an lstat of a path below `root`
// whose earlier components were already resolved, so no host symlink is ever followed.
import { chmodSync, chownSync, lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { BerthError, fromSystemError, invalid } from '../../oci/errors.ts';

const MAX_SYMLINKS = 255;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw fromSystemError(err, 'lstat', path);
  }
}

/** Refuses a COPY source that climbs above its root (`../x`, `a/../../x`) instead of clamping it. */
export function checkInContext(source: string, what: string): void {
  let depth = 0;
  for (const c of source.split('/')) {
    if (c === '..') depth--;
    else if (c !== '' && c !== '.') depth++;
    if (depth < 0) throw invalid(`${what} ${source}: forbidden path outside the build context`, { path: source });
  }
}

export const hostPath = (root: string, parts: readonly string[]): string => (parts.length ? join(root, ...parts) : root);

/**
 * The components of `path` inside `root` with every symlink resolved (the last one only when
 * `followLast`). A component that does not exist ends resolution: the rest is appended as given.
 */
export function resolveInRoot(root: string, path: string, followLast = true): string[] {
  const pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const current: string[] = [];
  let links = 0;
  while (pending.length) {
    const c = pending.shift()!;
    if (c === '..') {
      current.pop();
      continue;
    }
    current.push(c);
    const st = lstatOrUndefined(hostPath(root, current));
    if (!st) {
      // Missing: the rest cannot be symlinks; `..` in it still may not climb out.
      for (const rest of pending) {
        if (rest === '..') current.pop();
        else if (rest !== '.' && rest !== '') current.push(rest);
      }
      return current;
    }
    if (st.isSymbolicLink() && (pending.length > 0 || followLast)) {
      if (++links > MAX_SYMLINKS) throw invalid(`${path}: too many levels of symbolic links`, { path });
      const target = readlinkSync(hostPath(root, current));
      current.pop();
      if (target.startsWith('/')) current.length = 0;
      pending.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
    } else if (pending.length > 0 && !st.isDirectory()) {
      throw invalid(`${path}: /${current.join('/')} is not a directory`, { path });
    }
  }
  return current;
}

export function statInRoot(root: string, parts: readonly string[]): Stats | undefined {
  return lstatOrUndefined(hostPath(root, parts));
}

export interface DirOwner {
  uid: number;
  gid: number;
  mode?: number;
}

/**
 * Makes the directory `parts` (already resolved) and its missing parents below `root`; new ones
 * get `owner`. An existing component that is not a directory is an error, never replaced.
 */
export function mkdirInRoot(root: string, parts: readonly string[], owner: DirOwner, known?: Set<string>): void {
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join('/');
    if (known?.has(rel)) continue;
    const p = hostPath(root, parts.slice(0, i));
    const st = lstatOrUndefined(p);
    if (!st) {
      try {
        mkdirSync(p, { mode: owner.mode ?? 0o755 });
        // mkdir's mode is masked by the umask.
        chmodSync(p, owner.mode ?? 0o755);
        if (owner.uid !== 0 || owner.gid !== 0) chownSync(p, owner.uid, owner.gid);
      } catch (err) {
        throw fromSystemError(err, 'mkdir', p);
      }
    } else if (!st.isDirectory()) {
      throw new BerthError('invalid-argument', `cannot create directory /${rel}: a ${st.isSymbolicLink() ? 'symlink' : 'file'} is in the way`, { path: `/${rel}` });
    }
    known?.add(rel);
  }
}
