// Kernel ABI constants that plans carry: clone/namespace flags and mount flags (linux/sched.h,
// linux/mount.h). They are stable ABI; seccomp syscall numbers are NOT here (generated from headers).

import type { NamespaceType } from '../oci/runtime-spec.ts';

export const CLONE_FLAG: Record<NamespaceType, number> = {
  mount: 0x00020000, // CLONE_NEWNS
  cgroup: 0x02000000, // CLONE_NEWCGROUP
  uts: 0x04000000, // CLONE_NEWUTS
  ipc: 0x08000000, // CLONE_NEWIPC
  user: 0x10000000, // CLONE_NEWUSER
  pid: 0x20000000, // CLONE_NEWPID
  network: 0x40000000, // CLONE_NEWNET
  time: 0x00000080, // CLONE_NEWTIME
};

/** The file under /proc/<pid>/ns/ for each namespace type. */
export const NS_PROC_NAME: Record<NamespaceType, string> = {
  mount: 'mnt',
  cgroup: 'cgroup',
  uts: 'uts',
  ipc: 'ipc',
  user: 'user',
  pid: 'pid',
  network: 'net',
  time: 'time',
};

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  I_VERSION: 0x800000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** mount_setattr attributes (linux/mount.h MOUNT_ATTR_*). */
export const MOUNT_ATTR = {
  RDONLY: 0x1n,
  NOSUID: 0x2n,
  NODEV: 0x4n,
  NOEXEC: 0x8n,
  RELATIME: 0x0n,
  NOATIME: 0x10n,
  STRICTATIME: 0x20n,
  ATIME_MASK: 0x70n,
  NODIRATIME: 0x80n,
  NOSYMFOLLOW: 0x200000n,
} as const;

export const S_IFMT = 0o170000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;

/** Names for the bits of a flags word, for printing plans. */
export function flagNames(value: number, table: Record<string, number>, prefix: string): string {
  const names: string[] = [];
  let rest = value;
  for (const [name, bit] of Object.entries(table)) {
    if (bit !== 0 && (value & bit) === bit) {
      names.push(prefix + name);
      rest &= ~bit;
    }
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join('|') : '0';
}
