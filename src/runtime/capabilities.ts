// Capability names -> bit numbers (linux/capability.h; stable kernel ABI).

import { invalid } from '../oci/errors.ts';
import type { Capabilities } from '../oci/runtime-spec.ts';

export const CAPABILITY_NUMBERS: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
};

export const CAP_NAMES: string[] = Object.keys(CAPABILITY_NUMBERS);

export interface CapabilitySets {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

/**
 * Converts named sets to masks. Names berth doesn't know, and names above the kernel's lastCap,
 * are dropped and reported in `ignored` when it is given (the runtime-spec: warn, don't fail; runc
 * does the same); without it an unknown name is an error.
 */
export function capabilityMasks(caps: Capabilities, lastCap: number, field: string, ignored?: string[]): CapabilitySets {
  const mask = (set: keyof Capabilities): bigint =>
    (caps[set] ?? []).reduce((acc, name, i) => {
      const n = CAPABILITY_NUMBERS[name];
      if (n === undefined && !ignored) throw invalid(`${field}.${set}[${i}]: unknown capability "${name}"`, { field: `${field}.${set}[${i}]` });
      if (n === undefined || n > lastCap) {
        if (!ignored?.includes(name)) ignored?.push(name);
        return acc;
      }
      return acc | (1n << BigInt(n));
    }, 0n);
  return {
    bounding: mask('bounding'),
    effective: mask('effective'),
    permitted: mask('permitted'),
    inheritable: mask('inheritable'),
    ambient: mask('ambient'),
  };
}

export function capabilityNames(mask: bigint): string[] {
  return CAP_NAMES.filter((name) => (mask >> BigInt(CAPABILITY_NUMBERS[name]!)) & 1n);
}
