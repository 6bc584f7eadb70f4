// Directories overlay copied up without a change (a RUN's mount point under an existing directory,
// since removed; a file created and deleted again) are taken out of the upper directory before it
// becomes a layer, as BuildKit's differ leaves out directories equal to the lower ones: the same
// mode, owner, mtime and xattrs, not opaque, and nothing left below them.
import { lstatSync, readdirSync, rmdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { lgetxattr, llistxattr } from '../../sys/xattr.ts';

const OPAQUE = 'trusted.overlay.opaque';

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** The entry `parts` of the merged lower layers (topmost first), honouring whiteouts and opaque dirs. */
export function lowerEntry(lowers: readonly string[], parts: readonly string[]): { path: string; st: Stats } | undefined {
  for (const layer of lowers) {
    let opaque = false;
    for (let i = 1; i < parts.length; i++) {
      const prefix = join(layer, ...parts.slice(0, i));
      const st = lstatOrUndefined(prefix);
      if (!st) break;
      if (!st.isDirectory()) return undefined; // a whiteout or a file hides what is below
      if (lgetxattr(prefix, OPAQUE)?.toString() === 'y') opaque = true;
    }
    const path = join(layer, ...parts);
    const st = lstatOrUndefined(path);
    if (st) return st.isCharacterDevice() && st.rdev === 0 ? undefined : { path, st };
    if (opaque) return undefined;
  }
  return undefined;
}

function xattrs(path: string): string {
  try {
    return llistxattr(path)
      .filter((n) => !n.startsWith('trusted.overlay.'))
      .sort()
      .map((n) => `${n}=${lgetxattr(path, n)?.toString('hex') ?? ''}`)
      .join(',');
  } catch {
    return '';
  }
}

/** Removes unchanged, empty copied-up directories below `upper`; whether `upper` is now empty. */
export function pruneUnchangedDirs(upper: string, lowers: readonly string[]): boolean {
  const visit = (parts: string[]): boolean => {
    const dir = join(upper, ...parts);
    let empty = true;
    for (const name of readdirSync(dir)) {
      const child = [...parts, name];
      const st = lstatSync(join(dir, name));
      if (!st.isDirectory() || !visit(child) || !unchanged(child, st)) {
        empty = false;
        continue;
      }
      rmdirSync(join(dir, name));
    }
    return empty;
  };
  const unchanged = (parts: string[], st: Stats): boolean => {
    const path = join(upper, ...parts);
    if (lgetxattr(path, OPAQUE)?.toString() === 'y') return false;
    const low = lowerEntry(lowers, parts);
    if (!low || !low.st.isDirectory()) return false;
    const same = low.st.mode === st.mode && low.st.uid === st.uid && low.st.gid === st.gid && Math.floor(low.st.mtimeMs) === Math.floor(st.mtimeMs);
    return same && xattrs(low.path) === xattrs(path);
  };
  return visit([]);
}
