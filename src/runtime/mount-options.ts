// OCI mount options -> mount(2) flags, propagation changes, mount_setattr attributes and the
// filesystem data string, with the meanings runc gives them.

import { invalid } from '../oci/errors.ts';
import { MOUNT_ATTR, MS } from '../sys/kernel-constants.ts';

export interface MountOptions {
  /** Flags for the mount call itself. */
  flags: number;
  /** Propagation changes applied after the mount, in order. */
  propagation: number[];
  /** Recursive attributes applied with mount_setattr(AT_RECURSIVE) after the mount. */
  recursive: { set: bigint; clear: bigint } | null;
  /** Options the filesystem interprets (size=, mode=, newinstance...). */
  data: string[];
  bind: boolean;
}

const SET: Record<string, number> = {
  bind: MS.BIND,
  rbind: MS.BIND | MS.REC,
  dirsync: MS.DIRSYNC,
  iversion: MS.I_VERSION,
  lazytime: MS.LAZYTIME,
  mand: MS.MANDLOCK,
  noatime: MS.NOATIME,
  nodev: MS.NODEV,
  nodiratime: MS.NODIRATIME,
  noexec: MS.NOEXEC,
  nosuid: MS.NOSUID,
  nosymfollow: MS.NOSYMFOLLOW,
  relatime: MS.RELATIME,
  remount: MS.REMOUNT,
  ro: MS.RDONLY,
  silent: MS.SILENT,
  strictatime: MS.STRICTATIME,
  sync: MS.SYNCHRONOUS,
  defaults: 0,
};

const CLEAR: Record<string, number> = {
  async: MS.SYNCHRONOUS,
  atime: MS.NOATIME,
  dev: MS.NODEV,
  diratime: MS.NODIRATIME,
  exec: MS.NOEXEC,
  loud: MS.SILENT,
  noiversion: MS.I_VERSION,
  nolazytime: MS.LAZYTIME,
  nomand: MS.MANDLOCK,
  norelatime: MS.RELATIME,
  nostrictatime: MS.STRICTATIME,
  rw: MS.RDONLY,
  suid: MS.NOSUID,
  symfollow: MS.NOSYMFOLLOW,
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

// Recursive variants (runc 1.1+): [attributes to set, attributes to clear].
const RECURSIVE: Record<string, [bigint, bigint]> = {
  rro: [MOUNT_ATTR.RDONLY, 0n],
  rrw: [0n, MOUNT_ATTR.RDONLY],
  rnosuid: [MOUNT_ATTR.NOSUID, 0n],
  rsuid: [0n, MOUNT_ATTR.NOSUID],
  rnodev: [MOUNT_ATTR.NODEV, 0n],
  rdev: [0n, MOUNT_ATTR.NODEV],
  rnoexec: [MOUNT_ATTR.NOEXEC, 0n],
  rexec: [0n, MOUNT_ATTR.NOEXEC],
  rnodiratime: [MOUNT_ATTR.NODIRATIME, 0n],
  rdiratime: [0n, MOUNT_ATTR.NODIRATIME],
  rrelatime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR.ATIME_MASK],
  rnorelatime: [0n, MOUNT_ATTR.ATIME_MASK],
  rnoatime: [MOUNT_ATTR.NOATIME, MOUNT_ATTR.ATIME_MASK],
  ratime: [0n, MOUNT_ATTR.NOATIME],
  rstrictatime: [MOUNT_ATTR.STRICTATIME, MOUNT_ATTR.ATIME_MASK],
  rnostrictatime: [0n, MOUNT_ATTR.STRICTATIME],
  rnosymfollow: [MOUNT_ATTR.NOSYMFOLLOW, 0n],
  rsymfollow: [0n, MOUNT_ATTR.NOSYMFOLLOW],
};

export function parseMountOptions(options: readonly string[], field: string): MountOptions {
  const out: MountOptions = { flags: 0, propagation: [], recursive: null, data: [], bind: false };
  options.forEach((opt, i) => {
    if (opt in SET) {
      out.flags |= SET[opt]!;
    } else if (opt in CLEAR) {
      out.flags &= ~CLEAR[opt]!;
    } else if (opt in PROPAGATION) {
      out.propagation.push(PROPAGATION[opt]!);
    } else if (opt in RECURSIVE) {
      const [set, clear] = RECURSIVE[opt]!;
      const r = (out.recursive ??= { set: 0n, clear: 0n });
      r.set = (r.set & ~clear) | set;
      r.clear = (r.clear & ~set) | clear;
    } else if (opt === 'idmap' || opt === 'ridmap') {
      throw invalid(`${field}[${i}]: idmapped mounts ("${opt}") are not supported by berth-runtime`, {
        field: `${field}[${i}]`,
      });
    } else if (opt === 'tmpcopyup') {
      throw invalid(`${field}[${i}]: "tmpcopyup" is not supported by berth-runtime`, { field: `${field}[${i}]` });
    } else {
      out.data.push(opt);
    }
  });
  out.bind = (out.flags & MS.BIND) !== 0;
  return out;
}

export function parsePropagation(value: string, field: string): number {
  const flag = PROPAGATION[value];
  if (flag === undefined) {
    throw invalid(`${field}: unknown propagation "${value}" (expected one of ${Object.keys(PROPAGATION).join(', ')})`, {
      field,
    });
  }
  return flag;
}
