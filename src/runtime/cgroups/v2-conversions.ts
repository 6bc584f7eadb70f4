// The OCI resources were designed for cgroup v1; these are runc's conversions to v2 values.
import { invalid } from '../../oci/errors.ts';

/**
 * cpu.shares [2..262144] -> cpu.weight [1..10000], as current runc and crun do
 * (opencontainers/cgroups ConvertCPUSharesToCgroupV2Value after runc PR 4785, kubernetes#131216):
 * a quadratic in log2 space that maps the v1 default 1024 to the v2 default 100. 0 means unset.
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.ceil(10 ** exponent);
}

/** The older linear conversion (runc 1.1.5 on this host; maps 1024 to 39), for comparing with older peers. */
export function cpuSharesToWeightLinear(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight [10..1000] -> io.weight [1..10000] (runc ConvertBlkIOToIOWeightValue). 0 means unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap combined; v2 memory.swap.max is swap alone (runc
 * ConvertMemorySwapToCgroupV2Value). Returns -1 for "max", 0 for "unset", else swap - limit.
 */
export function memorySwapToV2(swap: number, limit: number): number {
  const field = 'linux.resources.memory.swap';
  if (limit === -1 && swap === 0) return -1; // "both unlimited", as v1 does
  if (swap === -1 || swap === 0) return swap;
  if (swap < -1) throw invalid(`${field} must be -1 (unlimited), 0 (unset) or a byte count, got ${swap}`, { field });
  if (limit === 0 || limit === -1) {
    throw invalid(`${field} cannot be set without linux.resources.memory.limit on cgroup v2`, { field });
  }
  if (swap < limit) {
    throw invalid(`${field} (${swap}) is memory+swap and must be >= linux.resources.memory.limit (${limit})`, { field });
  }
  return swap - limit;
}
