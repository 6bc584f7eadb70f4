// Reads files of an image without mounting it: a lookup over the layer directories of a snapshot
// chain (top first) that honours whiteouts and opaque directories, and resolves symlinks inside the
// rootfs only. Image files are untrusted: a symlink that climbs out of the rootfs is refused, only
// regular files are read, and reads are bounded (CVE class: an image making the host read its own
// files or unbounded data).
import * as fs from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { join } from 'node:path';
import { BerthError, invalid } from '../oci/errors.ts';
import { lgetxattr } from '../sys/xattr.ts';

const MAX_SYMLINKS = 40;

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

export class LayeredRootfs {
  /** @param layers layer directories, topmost first (a plain rootfs is a chain of one). */
  constructor(private readonly layers: readonly string[]) {}

  /** Finds the real path of `parts` without following any symlink (the final one included). */
  private async lookup(parts: readonly string[]): Promise<{ path: string; st: Stats } | undefined> {
    for (const layer of this.layers) {
      let hidden = false;
      let opaque = false;
      for (let i = 0; i < parts.length - 1 && !hidden; i++) {
        const prefix = join(layer, ...parts.slice(0, i + 1));
        const st = await lstatOrUndefined(prefix);
        if (!st) break;
        if (!st.isDirectory()) hidden = true; // a whiteout or a non-directory hides everything below
        else if (lgetxattr(prefix, 'trusted.overlay.opaque')?.toString() === 'y') opaque = true;
      }
      if (hidden) return undefined;
      const path = join(layer, ...parts);
      const st = await lstatOrUndefined(path);
      if (st) return isWhiteout(st) ? undefined : { path, st };
      if (opaque) return undefined;
    }
    return undefined;
  }

  /** Resolves an absolute path in the rootfs, following symlinks inside it. */
  async resolve(path: string): Promise<{ path: string; st: Stats } | undefined> {
    const pending = path.split('/').filter((c) => c !== '' && c !== '.');
    const current: string[] = [];
    let links = 0;
    while (pending.length) {
      const c = pending.shift()!;
      if (c === '..') {
        if (current.length === 0) throw invalid(`${path}: resolves above the image root`, { path });
        current.pop();
        continue;
      }
      current.push(c);
      const found = await this.lookup(current);
      if (!found) return undefined;
      if (found.st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw invalid(`${path}: too many levels of symbolic links in the image`, { path });
        const target = await fs.readlink(found.path);
        current.pop();
        if (target.startsWith('/')) current.length = 0;
        const tparts = target.split('/').filter((x) => x !== '' && x !== '.');
        // A relative target that climbs above the root is an escape attempt, not a path to clamp.
        let depth = current.length;
        for (const t of tparts) {
          depth += t === '..' ? -1 : 1;
          if (depth < 0) throw invalid(`${path}: symlink ${current.join('/')}/${c} -> ${target} leaves the image root`, { path });
        }
        pending.unshift(...tparts);
      } else if (pending.length && !found.st.isDirectory()) {
        return undefined;
      }
    }
    if (current.length === 0) return undefined;
    return this.lookup(current);
  }

  /**
   * Reads a regular file of the image, refusing anything larger than `maxBytes`. Returns undefined
   * when the file does not exist.
   */
  async readFile(path: string, maxBytes: number): Promise<Buffer | undefined> {
    const found = await this.resolve(path);
    if (!found) return undefined;
    if (!found.st.isFile()) throw invalid(`${path} in the image is not a regular file`, { path });
    if (found.st.size > maxBytes) throw new BerthError('resource-exhausted', `${path} in the image is ${found.st.size} bytes, more than the ${maxBytes} allowed`, { path });
    const fh = await fs.open(found.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw invalid(`${path} in the image is not a regular file`, { path });
      const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
      let total = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, total, buf.length - total, total);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > maxBytes) throw new BerthError('resource-exhausted', `${path} in the image is more than ${maxBytes} bytes`, { path });
        if (total === buf.length) break;
      }
      return buf.subarray(0, total);
    } finally {
      await fh.close();
    }
  }
}
