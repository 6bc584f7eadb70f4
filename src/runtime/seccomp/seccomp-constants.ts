// Seccomp's ABI constants, from <linux/seccomp.h> and <linux/audit.h>.

/** Filter return values: the action in the high 16 bits, data (errno, trace message) in the low 16. */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** Flags for seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1 << 0,
  LOG: 1 << 1,
  SPEC_ALLOW: 1 << 2,
  NEW_LISTENER: 1 << 3,
  TSYNC_ESRCH: 1 << 4,
  WAIT_KILLABLE_RECV: 1 << 5,
} as const;

/** Byte offsets in struct seccomp_data {int nr; u32 arch; u64 instruction_pointer; u64 args[6]}. */
export const SECCOMP_DATA = {
  NR: 0,
  ARCH: 4,
  IP_LO: 8,
  IP_HI: 12,
  SIZE: 64,
} as const;

/** Offset of the low (lo) and high (hi) 32-bit words of args[index], little-endian. */
export function argOffset(index: number, half: 'lo' | 'hi'): number {
  return 16 + 8 * index + (half === 'lo' ? 0 : 4);
}

const AUDIT_ARCH_64BIT = 0x80000000;
const AUDIT_ARCH_LE = 0x40000000;
// ELF machine numbers (<linux/elf-em.h>).
const EM_386 = 3;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

export const AUDIT_ARCH = {
  I386: (EM_386 | AUDIT_ARCH_LE) >>> 0,
  X86_64: (EM_X86_64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0,
  AARCH64: (EM_AARCH64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0,
} as const;

/** Syscall numbers with this bit set are x32 ABI calls on an x86_64 kernel (__X32_SYSCALL_BIT). */
export const X32_SYSCALL_BIT = 0x40000000;

/** errno values berth's seccomp defaults use (asm-generic/errno-base.h, errno.h). */
export const EPERM = 1;
export const ENOSYS = 38;
