// Extended attributes on a path without following a final symlink (lsetxattr/lgetxattr/llistxattr):
// values are raw bytes (security.capability is binary).
import { libc, errnoError, lastErrno } from './libc.ts';

const lsetxattrC = libc.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
const lgetxattrC = libc.func('long lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)');
const llistxattrC = libc.func('long llistxattr(const char *path, _Out_ void *list, size_t size)');

const ERANGE = 34;
const ENODATA = 61;

export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  if (lsetxattrC(path, name, Buffer.from(value), value.length, 0) !== 0) throw errnoError(`lsetxattr ${name}`, path);
}

/** The attribute's value, or undefined when the file does not have it. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  for (let size = 256; ; size *= 4) {
    const buf = Buffer.alloc(size);
    const n = Number(lgetxattrC(path, name, buf, size));
    if (n >= 0) return buf.subarray(0, n);
    const errno = lastErrno();
    if (errno === ENODATA) return undefined;
    if (errno !== ERANGE || size > 1 << 20) throw errnoError(`lgetxattr ${name}`, path, errno);
  }
}

export function llistxattr(path: string): string[] {
  for (let size = 1024; ; size *= 4) {
    const buf = Buffer.alloc(size);
    const n = Number(llistxattrC(path, buf, size));
    if (n >= 0) return buf.subarray(0, n).toString('utf8').split('\0').filter(Boolean);
    const errno = lastErrno();
    if (errno !== ERANGE || size > 1 << 20) throw errnoError('llistxattr', path, errno);
  }
}
