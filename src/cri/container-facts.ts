// What the container spec mapping needs to know that takes I/O to learn. berthd gathers these
// before calling `containerSpec` (src/cri/container-spec.ts), which then decides without I/O.
import type { GroupEntry, PasswdEntry } from '../image/image-user.ts';
import type { SeccompProfiles } from './security-profile.ts';

/** A pod namespace as a container joins it: the host's, or a pinned namespace file. */
export type PodNamespace = 'host' | { path: string };

export interface PodNamespaces {
  network: PodNamespace;
  ipc: PodNamespace;
  uts: PodNamespace;
  /** `per-container` when the pod asked CONTAINER: there is no pod-wide PID namespace to join. */
  pid: PodNamespace | 'per-container';
}

/** Files the pod made for its containers (host paths); an absent one is not mounted. */
export interface PodFiles {
  hostname?: string;
  hosts?: string;
  resolvConf?: string;
  /** The pod's /dev/shm (its tmpfs, or the host's /dev/shm for a host-IPC pod). */
  shm?: string;
}

/** A host path of a CRI mount, looked at once on the host (as containerd does). */
export interface HostPathFact {
  /** The path with every symlink resolved on the host. */
  resolved: string;
  /** Propagation of the host mount the path lives on: rshared needs `shared`, rslave `shared` or `slave`. */
  mountPropagation: 'shared' | 'slave' | 'private';
}

/** A device node on the host, from stat(2). */
export interface HostDevice {
  /** Host path of the node. */
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  /** Permission bits of the node (st_mode & 0o7777). */
  fileMode: number;
  uid: number;
  gid: number;
}

export interface TargetContainerFacts {
  id: string;
  /** Namespace files of the target container's process (`/proc/<pid>/ns/<type>`). */
  pid?: string;
  network?: string;
  ipc?: string;
}

export interface ContainerFacts {
  containerId: string;
  sandboxId: string;
  /** Host path of the container's root filesystem (its overlay mount). */
  rootfs: string;
  /** The image's name for the `io.kubernetes.cri.image-name` annotation when the request has no user_specified_image. */
  imageName: string;
  /** The image's /etc/passwd and /etc/group, parsed; undefined when the image has none. */
  etcPasswd?: PasswdEntry[];
  etcGroup?: GroupEntry[];
  pod: {
    namespaces: PodNamespaces;
    files: PodFiles;
    /** The pod's cgroup parent (cgroupfs path). */
    cgroupParent: string;
    /** Used for HOSTNAME when the pod config has none (host-network pods). */
    nodeHostname: string;
  };
  /** Each CRI mount's host_path, keyed by host_path as the request spells it. */
  hostPaths: Record<string, HostPathFact>;
  /** Each CRI device's host_path: the node, or the nodes under it when it is a directory. */
  devices: Record<string, HostDevice[]>;
  /** Every device node under the host's /dev, for privileged containers. */
  hostDevices: HostDevice[];
  seccomp: SeccompProfiles;
  /** Where anonymous volumes for the image's `Volumes` go: `<dir>/<n>`, made by the caller. */
  imageVolumeDir: string;
  /** The target of a TARGET namespace mode. */
  target?: TargetContainerFacts;
  host: {
    /** Unified cgroup v2 hierarchy: containers get a cgroup namespace (as containerd does). */
    cgroupV2: boolean;
    /** Memory swap accounting exists: swap is then limited to the memory limit by default. */
    swapAccounting: boolean;
    /** The hugetlb controller exists; without it hugepage limits are dropped (containerd tolerates it by default). */
    hugetlb: boolean;
    /** The runtime handler supports `rro` (recursive read-only) mounts. */
    recursiveReadOnly: boolean;
  };
}
