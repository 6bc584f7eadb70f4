// Decisions about tar entry names in a layer, as pure functions: where an entry goes inside the
// snapshot (a list of safe components) and what a whiteout means. Leading `/` and `./` are
// stripped, as GNU tar and docker do; a `..` component anywhere is refused rather than resolved,
// because no legitimate layer needs one.
import { invalid } from '../oci/errors.ts';
import { escapeControls } from '../oci/quote.ts';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/** Components of an entry name inside the layer; empty for the layer root itself. */
export function entryComponents(name: string, what = 'entry'): string[] {
  if (name.includes('\0')) throw invalid(`${what} "${printable(name)}": name contains NUL`, { field: printable(name) });
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw invalid(`${what} "${printable(name)}": name contains "..", which could escape the layer`, { field: printable(name) });
    if (Buffer.byteLength(c) > 255) throw invalid(`${what} "${printable(name).slice(0, 80)}...": a path component is longer than 255 bytes`, { field: printable(name).slice(0, 80) });
    parts.push(c);
  }
  return parts;
}

export type WhiteoutKind =
  | { kind: 'none' }
  | { kind: 'opaque'; dir: string[] }
  | { kind: 'whiteout'; dir: string[]; target: string }
  | { kind: 'meta' };

/** Classifies an entry (by its components) as a plain entry, a whiteout or an opaque marker. */
export function classifyWhiteout(components: readonly string[], name: string): WhiteoutKind {
  const base = components[components.length - 1];
  if (base === undefined || !base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  const dir = components.slice(0, -1);
  if (base === OPAQUE_WHITEOUT) return { kind: 'opaque', dir };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'meta' };
  const target = base.slice(WHITEOUT_PREFIX.length);
  if (target === '' || target === '.' || target === '..') {
    throw invalid(`whiteout "${printable(name)}" names no valid file`, { field: printable(name) });
  }
  return { kind: 'whiteout', dir, target };
}

/** Names in errors are shown with control characters escaped, so a hostile name cannot spoof output. */
export const printable = escapeControls;
