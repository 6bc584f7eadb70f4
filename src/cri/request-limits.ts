// Bounds on the free-form maps and names of a request. berthd keeps labels and annotations in
// memory for every List call, so a hostile client must not park megabytes there; the limit sits
// well above what the API server lets a pod carry (256 KiB of annotations) plus the kubelet's own.
import { invalid } from '../oci/errors.ts';
import type { StringMap } from './cri-types.ts';

export const MAX_MAP_BYTES = 1024 * 1024;

export function checkStringMap(map: StringMap | undefined, field: string, maxBytes = MAX_MAP_BYTES): StringMap {
  let bytes = 0;
  for (const [key, value] of Object.entries(map ?? {})) {
    if (key === '') throw invalid(`${field}: empty key`, { field });
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    if (bytes > maxBytes) throw invalid(`${field}: more than ${maxBytes} bytes of keys and values`, { field });
  }
  return map ?? {};
}

/** A name that becomes part of berth's record names and paths: no `/`, no NUL, no control characters. */
export function checkName(value: string | undefined, field: string, maxLength = 253): string {
  const v = value ?? '';
  if (v === '') throw invalid(`${field}: required`, { field });
  if (v.length > maxLength || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v)) {
    throw invalid(`${field}: ${JSON.stringify(v.slice(0, 80))} is not a valid name (letters, digits, '_', '.', '-', at most ${maxLength})`, { field });
  }
  return v;
}
