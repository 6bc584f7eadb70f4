// A bundle: the directory of a container's config.json, and the rootfs that config names.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fromSystemError, invalid, notFound } from '../oci/errors.ts';
import { parseSpec, validateSpec } from '../oci/runtime-spec-validate.ts';
import type { Spec } from '../oci/runtime-spec.ts';

export interface LoadedBundle {
  spec: Spec;
  /** The rootfs, absolute. */
  rootfs: string;
  /** The bundle directory, absolute. */
  bundle: string;
}

/** Reads and validates `<bundle>/config.json`; the rootfs must be a directory. */
export function loadBundle(bundle: string): LoadedBundle {
  const dir = resolve(bundle);
  const file = `${dir}/config.json`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = fromSystemError(err, 'read', file);
    throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? notFound(`bundle ${dir} has no config.json`, { path: file, errno: 'ENOENT' }) : e;
  }
  return withRootfs(dir, parseSpec(text, file), file);
}

/** A config the caller already has (validated here as config.json would be), for bundle `bundle`. */
export function specBundle(bundle: string, spec: Spec): LoadedBundle {
  const dir = resolve(bundle);
  const file = `${dir}/config.json`;
  // A copy, validated: the caller's object is not the container's record.
  const copy = JSON.parse(JSON.stringify(spec)) as unknown;
  validateSpec(copy as never, file);
  return withRootfs(dir, copy as Spec, file);
}

function withRootfs(dir: string, spec: Spec, file: string): LoadedBundle {
  if (!spec.root) throw invalid(`${file}: root: required`, { field: 'root', path: file });
  const rootfs = resolve(dir, spec.root.path);
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {
    throw notFound(`root.path: rootfs ${rootfs} does not exist`, { field: 'root.path', path: rootfs, errno: 'ENOENT' });
  }
  if (!isDir) throw invalid(`root.path: rootfs ${rootfs} is not a directory`, { field: 'root.path', path: rootfs, errno: 'ENOTDIR' });
  return { spec, rootfs, bundle: dir };
}
