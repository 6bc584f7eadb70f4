// What `berth-runtime features` reports (runtime-spec features.md), from what berth implements.

import { HOOK_KINDS, OCI_VERSION } from '../oci/runtime-spec.ts';
import { CAP_NAMES } from './capabilities.ts';

const MOUNT_OPTIONS = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'iversion', 'lazytime', 'loud',
  'mand', 'noatime', 'nodev', 'nodiratime', 'noexec', 'noiversion', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'private', 'ratime',
  'rbind', 'rdev', 'rdiratime', 'relatime', 'remount', 'rexec', 'rnoatime', 'rnodev', 'rnodiratime', 'rnoexec',
  'rnorelatime', 'rnostrictatime', 'rnosuid', 'rnosymfollow', 'ro', 'rprivate', 'rrelatime', 'rro', 'rrw',
  'rshared', 'rslave', 'rstrictatime', 'rsuid', 'rsymfollow', 'runbindable', 'rw', 'shared', 'silent', 'slave',
  'strictatime', 'suid', 'symfollow', 'sync', 'unbindable',
];

export interface FeaturesInput {
  seccomp?: { actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[] };
  version: string;
}

export function features(input: FeaturesInput): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_KINDS],
    mountOptions: [...MOUNT_OPTIONS].sort(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'],
      capabilities: CAP_NAMES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: input.seccomp ? { enabled: true, ...input.seccomp } : { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: {
      'org.berth.runtime.version': input.version,
      // features.md has no field for it: on cgroup v2, linux.resources.devices is an eBPF program.
      'org.berth.runtime.cgroup.v2.devices': 'ebpf',
    },
  };
}
