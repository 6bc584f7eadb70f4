// Resource limit names -> numbers (asm-generic/resource.h; stable kernel ABI).

import { invalid } from '../oci/errors.ts';

export const RLIMIT_NUMBERS: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

export function rlimitNumber(type: string, field: string): number {
  const n = RLIMIT_NUMBERS[type];
  if (n === undefined) throw invalid(`${field}: unknown rlimit "${type}"`, { field });
  return n;
}

/** JSON can't carry 2^64-1 exactly: values at or above 2^63 mean unlimited (RLIM_INFINITY). */
export function rlimitValue(v: number): bigint {
  return v >= 2 ** 63 ? 0xffffffffffffffffn : BigInt(v);
}
