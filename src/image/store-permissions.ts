// Who may enter the store. Images and containers put files there that no other host user may
// reach by path: a setuid-root binary runs as root for whoever execs it, a 0666 device node opens
// the host's disk, a container's config.json holds its `-e` secrets (containerd CVE-2021-41103,
// moby CVE-2021-41091). As containerd after that CVE: the root is 0711 (others may pass through
// but not list it) and everything directly under it is 0700 (directories) or 0600 (files), so
// nothing deeper is reachable by another user whatever its own mode. Deeper modes are the
// image's: a layer's root directory (snapshots/N/fs) becomes the mode of the container's "/".

import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fromSystemError, precondition } from '../oci/errors.ts';

export const STORE_ROOT_MODE = 0o711;
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Bits that must be clear: the root may be traversed by others, nothing under it may. */
const ROOT_FORBIDDEN = 0o066;
const PRIVATE_FORBIDDEN = 0o077;

/**
 * Creates the store root and `dirs` under it with their private modes, and closes anything under
 * the root that other users could enter (a store written by an older berth): returns the paths
 * whose mode it changed, and reports them through `warn` in one line.
 */
export function secureStoreRoot(root: string, dirs: readonly string[], warn?: (message: string) => void): string[] {
  const fixed: string[] = [];
  try {
    mkdirSync(dirname(root), { recursive: true });
    mkdirIfAbsent(root, STORE_ROOT_MODE);
    const st = lstatSync(root);
    if (!st.isDirectory()) throw precondition(`store root ${root} is not a directory`, { path: root });
    if (st.mode & ROOT_FORBIDDEN) {
      chmodSync(root, STORE_ROOT_MODE);
      fixed.push(root);
    }
    for (const d of dirs) mkdirIfAbsent(join(root, d), PRIVATE_DIR_MODE);
    for (const name of readdirSync(root).sort()) {
      if (closePrivate(join(root, name))) fixed.push(join(root, name));
    }
  } catch (err) {
    throw fromSystemError(err, 'secure store', root);
  }
  if (fixed.length && warn) {
    const names = fixed.map((p) => (p === root ? '.' : p.slice(root.length + 1))).join(', ');
    warn(`the store at ${root} was open to other users (made by an older berth?): closed ${names}`);
  }
  return fixed;
}

/**
 * Makes a directory 0700 or a file 0600 when group or others have any access to it; symlinks
 * and absent paths are left alone. Returns whether it changed anything.
 */
export function closePrivate(path: string): boolean {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (st.isSymbolicLink() || !(st.mode & PRIVATE_FORBIDDEN)) return false;
  chmodSync(path, st.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE);
  return true;
}

function mkdirIfAbsent(path: string, mode: number): void {
  try {
    mkdirSync(path, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
