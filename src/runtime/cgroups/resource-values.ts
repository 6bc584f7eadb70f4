// Checks of single `linux.resources` values; every error names the config field.
import { invalid } from '../../oci/errors.ts';

/** An integer (JSON numbers past 2^53 are still integers, just imprecise). */
export function integer(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalid(`${field} must be an integer, got ${JSON.stringify(value)}`, { field });
  }
  return value;
}

export function nonNegative(value: unknown, field: string): number {
  const n = integer(value, field);
  if (n < 0) throw invalid(`${field} must be >= 0, got ${n}`, { field });
  return n;
}

/** A limit where -1 means unlimited and 0 means unset. */
export function limit(value: unknown, field: string): number {
  const n = integer(value, field);
  if (n < -1) throw invalid(`${field} must be -1 (unlimited), 0 (unset) or a positive number, got ${n}`, { field });
  return n;
}

export function inRange(value: unknown, field: string, min: number, max: number): number {
  const n = integer(value, field);
  if (n < min || n > max) throw invalid(`${field} must be between ${min} and ${max}, got ${n}`, { field });
  return n;
}

/** Decimal text of an integer, exact even above 2^53 (a cgroup file wants digits, not 1e+21). */
export function decimal(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
}

/** A cpuset list such as "0-3,5,7-8" (kernel cpulist format). */
export function cpuList(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value)) {
    throw invalid(`${field} must be a list such as "0-3,5", got ${JSON.stringify(value)}`, { field });
  }
  for (const part of value.split(',')) {
    const [lo, hi] = part.split('-').map(Number);
    if (hi !== undefined && lo !== undefined && hi < lo) throw invalid(`${field} has a descending range ${part}`, { field });
  }
  return value;
}

/** A hugepage size as the hugetlb controller names its files: "2MB", "1GB", "64KB". */
export function pageSize(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[1-9]\d*[KMG]B$/.test(value)) {
    throw invalid(`${field} must be a page size such as "2MB" or "1GB", got ${JSON.stringify(value)}`, { field });
  }
  return value;
}

/** "major:minor" of a block device. */
export function deviceNumbers(dev: { major?: unknown; minor?: unknown }, field: string): string {
  return `${nonNegative(dev.major, `${field}.major`)}:${nonNegative(dev.minor, `${field}.minor`)}`;
}
