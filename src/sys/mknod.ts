// mknod(2), which Node lacks: device nodes, FIFOs, and overlayfs whiteouts (a 0/0 char device).
import { libc, errnoError } from './libc.ts';

const mknodC = libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)');

export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** glibc's makedev encoding of (major, minor) into a dev_t. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  if (mknodC(path, mode, makedev(major, minor)) !== 0) throw errnoError('mknod', path);
}
