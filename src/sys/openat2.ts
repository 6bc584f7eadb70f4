// openat2(2) and readlinkat(2), which Node lacks: paths resolved by the kernel relative to a
// directory fd, with RESOLVE_IN_ROOT (the fd is "/" for the lookup: `..` and absolute symlinks stay
// below it) or RESOLVE_BENEATH. What `berth cp` uses to stay inside a container's rootfs however
// the container changes it meanwhile.
import { libc, errnoError } from './libc.ts';

const SYS_openat2 = 437;
const syscall = libc.func('long syscall(long nr, ...)');
const readlinkatC = libc.func('long readlinkat(int dirfd, const char *path, _Out_ uint8_t *buf, size_t size)');

export const O_PATH = 0o10000000;
export const O_CLOEXEC = 0o2000000;
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

/** A new fd for `path` under `dirfd` (flags include O_CLOEXEC); throws a BerthError with the errno. */
export function openat2(dirfd: number, path: string, flags: number, resolve: number, mode = 0): number {
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(mode), 8);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  const fd = Number(syscall(SYS_openat2, 'int', dirfd, 'const char *', path, 'void *', how, 'size_t', how.length));
  if (fd < 0) throw errnoError('openat2', path);
  return fd;
}

/** The target of the symlink `fd` was opened on (O_PATH | O_NOFOLLOW). */
export function readlinkFd(fd: number): string {
  const buf = Buffer.alloc(4096);
  const n = Number(readlinkatC(fd, '', buf, buf.length));
  if (n < 0) throw errnoError('readlinkat', `fd ${fd}`);
  return buf.subarray(0, n).toString('utf8');
}
