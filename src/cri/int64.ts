// Reading int64/uint64 request fields (decimal strings under berthd's loader options) as
// JavaScript numbers, refusing what a number cannot hold exactly or what the field cannot mean.
import { invalid } from '../oci/errors.ts';
import type { Int64 } from './cri-types.ts';

export interface IntRange {
  min?: number;
  max?: number;
}

/** `value` as an exact integer within [min, max] (default: the safe integers); `field` names it in errors. */
export function int64(value: Int64 | undefined | null, field: string, range: IntRange = {}): number {
  const text = value === undefined || value === null ? '0' : String(value);
  if (!/^-?[0-9]{1,20}$/.test(text)) throw invalid(`${field}: ${JSON.stringify(text)} is not an integer`, { field });
  const n = Number(text);
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw invalid(`${field}: ${text} is out of range [${min}, ${max}]`, { field });
  return n;
}

/** Kubernetes' id range (RunAsUser, RunAsGroup, SupplementalGroups): 0 to 2^31-1. */
export const ID_RANGE: IntRange = { min: 0, max: 2 ** 31 - 1 };
