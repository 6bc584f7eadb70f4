// Mount specs for snapshots, as pure functions: a chain of layer directories becomes an overlay
// (or a bind mount for a single directory). Overlay takes its options in one page, so when the
// absolute paths would not fit, the spec lists directories relative to `cwd` (numeric snapshot ids
// keep each entry a few bytes), and whoever mounts it must chdir there first (see mountSnapshot).
import { unimplemented } from '../oci/errors.ts';

export interface MountSpec {
  type: string;
  source: string;
  options: string[];
  /** When set, the paths in `options` are relative to this directory. */
  cwd?: string;
}

/** Linux limits mount data to one page (including the final NUL); leave room for extra options. */
export const DEFAULT_MAX_OPTION_BYTES = 3584;

export interface OverlayLayout {
  /** The directory holding one numbered directory per snapshot. */
  snapshotsDir: string;
  /** Lower snapshot ids, topmost first. */
  lowerIds: readonly number[];
  /** The writable snapshot id (active snapshots), or undefined for a read-only view. */
  upperId?: number;
}

const fsDir = (id: number): string => `${id}/fs`;
const workDir = (id: number): string => `${id}/work`;

export function overlayMountSpec(layout: OverlayLayout, maxOptionBytes = DEFAULT_MAX_OPTION_BYTES): MountSpec {
  const { snapshotsDir, lowerIds, upperId } = layout;
  const abs = (p: string): string => `${snapshotsDir}/${p}`;
  if (lowerIds.length === 0) {
    if (upperId === undefined) throw unimplemented('a read-only view of an empty chain has nothing to mount');
    return { type: 'bind', source: abs(fsDir(upperId)), options: ['rbind', 'rw'] };
  }
  if (upperId === undefined && lowerIds.length === 1) {
    return { type: 'bind', source: abs(fsDir(lowerIds[0]!)), options: ['rbind', 'ro'] };
  }
  const build = (path: (p: string) => string): string[] => {
    const opts = [`lowerdir=${lowerIds.map((id) => path(fsDir(id))).join(':')}`];
    if (upperId !== undefined) opts.push(`upperdir=${path(fsDir(upperId))}`, `workdir=${path(workDir(upperId))}`);
    return opts;
  };
  const absolute = build(abs);
  if (absolute.join(',').length <= maxOptionBytes) return { type: 'overlay', source: 'overlay', options: absolute };
  const relative = build((p) => p);
  if (relative.join(',').length > maxOptionBytes) {
    throw unimplemented(`a chain of ${lowerIds.length} layers is too deep for one overlay mount`, { field: 'layers' });
  }
  return { type: 'overlay', source: 'overlay', options: relative, cwd: snapshotsDir };
}
