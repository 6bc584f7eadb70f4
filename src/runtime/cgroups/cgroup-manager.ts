// One small interface over cgroup v1 and v2, picked at run time from what the host has mounted.
import type { Resources } from '../../oci/runtime-spec.ts';
import { detectCgroupHost, type CgroupHost, type CgroupHostOptions, type CgroupMode } from './cgroup-host.ts';
import type { CgroupStats } from './cgroup-stats.ts';
import { parseCgroupsPath, resolveCgroupPaths, type CgroupsPathOptions } from './cgroups-path.ts';
import { parseCgroupManagerRecord, type CgroupManagerRecord } from './manager-record.ts';
import { CgroupManagerV1 } from './manager-v1.ts';
import { CgroupManagerV2 } from './manager-v2.ts';

/** The directories of a container's cgroups, in the order they are removed. */
export interface CgroupRemoval {
  /** The cgroup whose cgroup.procs lists the container's processes (`pids`). */
  procsDir: string | undefined;
  /** The container's own cgroups (one per hierarchy). */
  dirs: string[];
  /** Parents that create() made, deepest first: removed when empty, kept when in use. */
  parents: string[];
}

/** 'pausing': a freeze was asked for and some tasks are not frozen yet. */
export type FreezerState = 'running' | 'pausing' | 'paused';

export interface CgroupManager {
  readonly mode: CgroupMode;
  /** Makes the cgroup directories (and enables v2 controllers / copies v1 cpuset parents). Idempotent. */
  create(): Promise<void>;
  /** Moves process `pid` (all its threads) into the cgroups. */
  apply(pid: number): Promise<void>;
  /** Writes the resource limits; returns warnings about settings that have no effect in this mode. */
  set(resources: Resources | undefined): Promise<string[]>;
  /** Freezes every process and waits until the kernel reports the cgroup frozen. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  state(): Promise<FreezerState>;
  /** Pids in the container's cgroup (with `recursive`, also in its sub-cgroups). */
  pids(recursive?: boolean): Promise<number[]>;
  stats(): Promise<CgroupStats>;
  /** How many processes the OOM killer has killed in the cgroup so far. */
  oomKillCount(): Promise<bigint>;
  /** Whether the container's cgroup still exists. */
  exists(): Promise<boolean>;
  /**
   * Removes the cgroup directories, bottom-up, retrying briefly while processes exit (killing them
   * is the caller's job). A cgroup that is already gone is not an error.
   */
  destroy(): Promise<void>;
  /** What `destroy` removes and where `pids` looks, as data for another program to act on. */
  removal(): CgroupRemoval;
  /** Controller -> directory ('unified' on v2). */
  paths(): Record<string, string>;
  /** What to keep in the state file to find the cgroups again (see cgroupManagerFromJSON). */
  toJSON(): CgroupManagerRecord;
}

/** Behaviour knobs that are policy, not state: pass the same ones to every process. */
export interface CgroupManagerSettings {
  /** Longest wait for a freeze to complete; default 10 s. */
  freezeTimeoutMs?: number;
  /** Where the kernel lists huge page sizes; default /sys/kernel/mm/hugepages. */
  hugepagesDir?: string;
  /** v2: puts a device program on a cgroup directory; default the kernel's bpf(2) (tests pass a recorder). */
  attachDeviceProgram?: (dir: string, program: Uint8Array) => void | Promise<void>;
}

export interface CgroupManagerOptions extends CgroupManagerSettings, CgroupsPathOptions {
  /** Container id: the cgroup name when `cgroupsPath` is empty. */
  id: string;
  /** `linux.cgroupsPath` from config.json. */
  cgroupsPath?: string;
  /** A host description; detected from /proc/self when absent. */
  host?: CgroupHost;
  /** Where to detect from (tests point these at a fake tree). */
  hostOptions?: CgroupHostOptions;
  /** Allow a v1 host without the devices controller. */
  skipDevices?: boolean;
}

/** The manager for container `id` on a known host (pure: touches nothing until a method is called). */
export function cgroupManagerFor(host: CgroupHost, options: Omit<CgroupManagerOptions, 'host' | 'hostOptions'>): CgroupManager {
  const spec = parseCgroupsPath(options.cgroupsPath, options.id, options);
  const { paths, mountpoints } = resolveCgroupPaths(host, spec, options);
  if (host.mode === 'v2') {
    return new CgroupManagerV2(
      { version: 1, mode: 'v2', path: paths.unified as string, mountpoint: mountpoints.unified as string, createdParents: [] },
      options,
    );
  }
  return new CgroupManagerV1({ version: 1, mode: 'v1', paths, mountpoints, createdParents: [] }, options);
}

/** Detects the host's cgroup mode (unless given) and returns the matching manager. */
export async function openCgroupManager(options: CgroupManagerOptions): Promise<CgroupManager> {
  const host = options.host ?? (await detectCgroupHost(options.hostOptions));
  return cgroupManagerFor(host, options);
}

/** The manager of an existing container, from what `toJSON` saved. */
export function cgroupManagerFromJSON(record: unknown, settings: CgroupManagerSettings = {}): CgroupManager {
  const r = parseCgroupManagerRecord(record);
  return r.mode === 'v2' ? new CgroupManagerV2(r, settings) : new CgroupManagerV1(r, settings);
}
