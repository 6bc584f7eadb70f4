// Checks for paths inside a container that a request or an image names: absolute, no `..`
// component, no NUL. Paths are resolved inside the rootfs by the runtime, but a `..` never has a
// legitimate reason to be there, so it is refused rather than cleaned.
import { invalid } from '../oci/errors.ts';

/** The path without `.` components, repeated or trailing slashes; `..` and relative paths refused. */
export function containerPath(path: string | undefined, field: string): string {
  const p = path ?? '';
  if (p === '') throw invalid(`${field}: empty path`, { field });
  if (p.includes('\0')) throw invalid(`${field}: path contains a NUL byte`, { field });
  if (!p.startsWith('/')) throw invalid(`${field}: ${JSON.stringify(p)} is not an absolute path`, { field });
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw invalid(`${field}: ${JSON.stringify(p)} has a ".." component`, { field });
  return '/' + parts.join('/');
}

/** An absolute host path as given (resolution happens on the host); relative or NUL refused. */
export function hostPath(path: string | undefined, field: string): string {
  const p = path ?? '';
  if (p.includes('\0')) throw invalid(`${field}: path contains a NUL byte`, { field });
  if (!p.startsWith('/')) throw invalid(`${field}: ${JSON.stringify(p)} is not an absolute host path`, { field });
  return p;
}

/** A relative path below a directory (log_path below log_directory): no `..`, not absolute. */
export function relativePath(path: string, field: string): string {
  if (path.includes('\0')) throw invalid(`${field}: path contains a NUL byte`, { field });
  if (path.startsWith('/')) throw invalid(`${field}: ${JSON.stringify(path)} must be relative`, { field });
  const parts = path.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.length === 0) throw invalid(`${field}: empty path`, { field });
  if (parts.includes('..')) throw invalid(`${field}: ${JSON.stringify(path)} has a ".." component`, { field });
  return parts.join('/');
}

/** Number of components, the order key mounts are sorted by (parents before children). */
export function pathDepth(cleanPath: string): number {
  return cleanPath === '/' ? 0 : cleanPath.split('/').length - 1;
}
