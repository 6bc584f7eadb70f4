// `berth run`'s storage, limit and privilege flags in three steps: `readRunOptions` checks every
// value and reads what the host has (bind sources, devices, CPUs) before anything is made; then
// `specStep` (pure, given the image) writes them into the spec; then `mountedStep`, once the
// rootfs is mounted, makes and fills the volumes and looks group names up in the image.
import { readFileSync } from 'node:fs';
import { BerthError } from '../../oci/errors.ts';
import type { Spec } from '../../oci/runtime-spec.ts';
import type { ImageConfig } from '../../oci/image-spec.ts';
import { VolumeStore } from '../../containers/volume-store.ts';
import { readCapBounding } from '../../sys/proc.ts';
import { list, str, type FlagSpec } from './args.ts';
import { applyLimits, parseCpuList, processLimitsFromFlags, resourcesFromFlags, PROCESS_LIMIT_FLAGS, RESOURCE_FLAGS, type HostCpus } from './run-limits.ts';
import { applyGroups, applySecurity, groupIds, parseDeviceFlag, SECURITY_FLAGS, type SecurityFlags } from './run-security.ts';
import { allHostDevices, hostDevicesAt, imageGroups } from './run-security-host.ts';
import { applyStorage, requestMount, storageRequests, type MountRequest } from './run-storage.ts';
import { namedRequests, prepareVolumes, resolveHostSources, type NamedRequest } from './run-storage-host.ts';

export const STORAGE_FLAGS: FlagSpec[] = [
  { name: 'volume', alias: 'v', kind: 'list', help: 'mount a host path or a volume: [HOST-PATH|VOLUME:]CONTAINER-PATH[:ro|rw][,nocopy]' },
  { name: 'mount', kind: 'list', help: 'type=bind|volume|tmpfs,source=…,target=…[,readonly][,tmpfs-size=…][,tmpfs-mode=…]' },
  { name: 'tmpfs', kind: 'list', help: 'mount a tmpfs: CONTAINER-PATH[:OPTIONS] (default noexec,nosuid,nodev)' },
  { name: 'read-only', kind: 'bool', help: "mount the container's root filesystem read-only" },
  { name: 'shm-size', kind: 'string', help: 'size of /dev/shm (default 64m)' },
];

/** Every flag of this file's concern, for `run`'s table. */
export const RUN_OPTION_FLAGS: FlagSpec[] = [...STORAGE_FLAGS, ...RESOURCE_FLAGS, ...PROCESS_LIMIT_FLAGS, ...SECURITY_FLAGS];

export interface RunOptions {
  requests: MountRequest[];
  readOnly: boolean;
  shmSize?: string;
  resources: ReturnType<typeof resourcesFromFlags>;
  limits: ReturnType<typeof processLimitsFromFlags>;
  security: SecurityFlags;
  /** The runtime's own bounding set: what "all capabilities" means here. */
  bounding: bigint;
}

/** The CPUs and memory nodes online here (a machine without NUMA has node 0). */
export function hostCpus(): HostCpus {
  const read = (path: string, fallback: string): string => {
    try {
      return readFileSync(path, 'utf8').trim() || fallback;
    } catch {
      return fallback;
    }
  };
  return {
    cpus: new Set(parseCpuList('cpus', read('/sys/devices/system/cpu/online', '0'))),
    mems: new Set(parseCpuList('mems', read('/sys/devices/system/node/online', '0'))),
  };
}

/** Every value checked and the host facts read: a bad one fails here, before anything is made. */
export function readRunOptions(flags: Readonly<Record<string, unknown>>): RunOptions {
  const requests = resolveHostSources(storageRequests({ volume: list(flags.volume), mount: list(flags.mount), tmpfs: list(flags.tmpfs) }));
  const shmSize = str(flags['shm-size']);
  // A bad --shm-size fails now too.
  if (shmSize !== undefined) applyStorage({ ociVersion: '', mounts: [] }, [], { shmSize });
  const devices = list(flags.device).map((v) => {
    const request = parseDeviceFlag(v);
    return { request, found: hostDevicesAt(request.host) };
  });
  const privileged = !!flags.privileged;
  const security: SecurityFlags = {
    privileged,
    capAdd: list(flags['cap-add']),
    capDrop: list(flags['cap-drop']),
    devices,
    groupAdd: list(flags['group-add']),
    ...(privileged ? { hostDevices: allHostDevices() } : {}),
  };
  const bounding = readCapBounding();
  // Unknown capabilities fail now, not when the spec is made.
  applySecurity({ ociVersion: '', process: { args: [], cwd: '/', user: { uid: 0, gid: 0 }, capabilities: { bounding: [] } } }, { capAdd: security.capAdd, capDrop: security.capDrop }, bounding);
  return {
    requests,
    readOnly: !!flags['read-only'],
    ...(shmSize !== undefined ? { shmSize } : {}),
    resources: resourcesFromFlags(flags, hostCpus()),
    limits: processLimitsFromFlags(flags),
    security,
    bounding,
  };
}

/**
 * Writes the options into the spec of container `id` (before the seccomp profile is chosen: it
 * follows the capabilities); returns the mount requests with their volumes named, for mountedStep.
 */
export function specStep(spec: Spec, options: RunOptions, imageConfig: ImageConfig, volumes: VolumeStore): NamedRequest[] {
  const imageVolumes = Object.keys(imageConfig.config?.Volumes ?? {});
  const covered = new Set(options.requests.map((r) => r.target));
  const requests = namedRequests([...options.requests, ...storageRequests({}, imageVolumes).filter((r) => !covered.has(r.target))]);
  applyStorage(spec, requests.map((r) => requestMount(r, (name) => volumes.dataPath(name))), options);
  applyLimits(spec, options.resources, options.limits);
  applySecurity(spec, options.security, options.bounding);
  return requests;
}

/** Once the rootfs is mounted: volumes made, pinned and filled; --group-add names resolved. */
export async function mountedStep(
  spec: Spec,
  options: RunOptions,
  requests: readonly NamedRequest[],
  ctx: { id: string; rootfs: string; volumes: VolumeStore; onUndo: (undo: () => unknown) => void },
): Promise<void> {
  await prepareVolumes(ctx.volumes, requests, ctx.id, ctx.rootfs, ctx.onUndo);
  const groups = options.security.groupAdd ?? [];
  if (groups.length) applyGroups(spec, groupIds(groups, groups.some((g) => !/^\d+$/.test(g)) ? await imageGroups(ctx.rootfs) : undefined));
}

/** The flag behind a spec field the runtime refused, as the user spelled the setting. */
const FLAG_OF_FIELD: ReadonlyArray<[RegExp, string]> = [
  [/^process\.oomScoreAdj/, 'oom-score-adj'],
  [/^process\.rlimits/, 'ulimit'],
  [/^linux\.resources\.memory/, 'memory'],
  [/^linux\.resources\.pids/, 'pids-limit'],
  [/^linux\.devices/, 'device'],
];

/**
 * A runtime error about a field one of these flags set, said with the flag's name first
 * ("--oom-score-adj: process.oomScoreAdj: setting -500 was refused..."); other errors as they are.
 */
export function withFlagName(err: unknown, flags: Readonly<Record<string, unknown>>): unknown {
  if (!(err instanceof BerthError) || !err.where.field) return err;
  const flag = FLAG_OF_FIELD.find(([re]) => re.test(err.where.field!))?.[1];
  const value = flag === undefined ? undefined : flags[flag];
  if (value === undefined || (Array.isArray(value) && !value.length)) return err;
  return new BerthError(err.kind, `--${flag} ${Array.isArray(value) ? value.join(' ') : String(value)}: ${err.describe()}`, { field: `--${flag}` }, { cause: err });
}
