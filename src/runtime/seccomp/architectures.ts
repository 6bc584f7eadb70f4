// The seccomp architectures berth can compile filters for, how the kernel reports each one in
// seccomp_data (AUDIT_ARCH_* plus the slice of the syscall-number space it owns), and syscall
// number lookup over the tables generated from the kernel headers.

import { invalid } from '../../oci/errors.ts';
import { AUDIT_ARCH, X32_SYSCALL_BIT } from './seccomp-constants.ts';
import { syscallTables } from './syscalls.generated.ts';

export interface SeccompArchInfo {
  /** The OCI / libseccomp name, e.g. `SCMP_ARCH_X86_64`. */
  name: string;
  /** What the kernel puts in seccomp_data.arch for this ABI. */
  auditArch: number;
  /** Width of syscall arguments as the ABI defines them: 32-bit ABIs compare only the low word. */
  argBits: 32 | 64;
  /** The syscall numbers (inclusive, unsigned) this ABI owns under its auditArch. */
  nrFirst: number;
  nrLast: number;
}

const archInfo: readonly SeccompArchInfo[] = [
  { name: 'SCMP_ARCH_X86_64', auditArch: AUDIT_ARCH.X86_64, argBits: 64, nrFirst: 0, nrLast: X32_SYSCALL_BIT - 1 },
  // x32 shares AUDIT_ARCH_X86_64; its syscall numbers carry __X32_SYSCALL_BIT. Like libseccomp,
  // berth treats it as a 32-bit ABI for argument comparisons.
  { name: 'SCMP_ARCH_X32', auditArch: AUDIT_ARCH.X86_64, argBits: 32, nrFirst: X32_SYSCALL_BIT, nrLast: 0xffffffff },
  { name: 'SCMP_ARCH_X86', auditArch: AUDIT_ARCH.I386, argBits: 32, nrFirst: 0, nrLast: 0xffffffff },
  { name: 'SCMP_ARCH_AARCH64', auditArch: AUDIT_ARCH.AARCH64, argBits: 64, nrFirst: 0, nrLast: 0xffffffff },
];

/**
 * Every architecture name the runtime-spec (libseccomp 2.5/2.6) allows. A name outside this list
 * is an error; a known name berth has no syscall table for is left out of the filter, so that
 * ABI gets the bad-architecture action (the kernel of this machine never reports most of them).
 */
export const KNOWN_SECCOMP_ARCHITECTURES: readonly string[] = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
];

/** The architectures berth can compile for here: known layout and a generated syscall table. */
export const SECCOMP_ARCHITECTURES: readonly string[] = archInfo
  .filter((a) => Object.hasOwn(syscallTables, a.name))
  .map((a) => a.name);

export function seccompArchInfo(arch: string): SeccompArchInfo | undefined {
  return SECCOMP_ARCHITECTURES.includes(arch) ? archInfo.find((a) => a.name === arch) : undefined;
}

/** The seccomp architecture of the machine running this process (`process.arch`). */
export function nativeSeccompArch(nodeArch: string = process.arch): string {
  switch (nodeArch) {
    case 'x64':
      return 'SCMP_ARCH_X86_64';
    case 'ia32':
      return 'SCMP_ARCH_X86';
    case 'arm64':
      return 'SCMP_ARCH_AARCH64';
    default:
      throw invalid(`seccomp: no syscall table for this machine's architecture ${nodeArch}`, { field: 'process.arch' });
  }
}

/**
 * The number of syscall `name` on `arch` (x32 numbers include __X32_SYSCALL_BIT), or undefined when
 * the installed kernel headers do not know the syscall on that architecture. An architecture
 * berth has no table for is an error.
 */
export function seccompSyscallNumber(name: string, arch: string): number | undefined {
  if (!seccompArchInfo(arch)) {
    throw invalid(`seccomp: unsupported architecture ${JSON.stringify(arch)} (supported: ${SECCOMP_ARCHITECTURES.join(', ')})`, {
      field: 'arch',
    });
  }
  const table = syscallTables[arch];
  return table && Object.hasOwn(table, name) ? table[name] : undefined;
}
