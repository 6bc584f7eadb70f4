// Pure: docker's privilege flags become the spec's capabilities, devices and groups:
// `--cap-add/--cap-drop` (names with or without CAP_, any case, ALL) as moby's TweakCapabilities;
// `--device HOST[:CONTAINER][:PERMISSIONS]` as a node plus a device-cgroup rule; `--group-add`
// as supplementary groups; `--privileged`: every capability, every host device, the cgroup allowing
// all devices, no masked or read-only /proc paths, /sys and the cgroup mount writable, no seccomp.
// Host facts (device nodes, the kernel's last capability, the image's groups) come from the edge.
import { invalid } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import type { Device, Spec } from '../../oci/runtime-spec.ts';
import type { GroupEntry } from '../../image/image-user.ts';
import { CAPABILITY_NUMBERS } from '../../runtime/capabilities.ts';
import type { FlagSpec } from './args.ts';

export const SECURITY_FLAGS: FlagSpec[] = [
  { name: 'privileged', kind: 'bool', help: 'every capability and host device, no seccomp, writable /sys (the container is as strong as root)' },
  { name: 'cap-add', kind: 'list', help: 'add a capability (NET_ADMIN or CAP_NET_ADMIN; ALL)' },
  { name: 'cap-drop', kind: 'list', help: 'drop a capability (ALL: keep only --cap-add ones)' },
  { name: 'device', kind: 'list', help: 'a host device in the container: HOST[:CONTAINER][:PERMISSIONS] (permissions r, w, m; default rwm)' },
  { name: 'group-add', kind: 'list', help: "a supplementary group for the process (a gid, or a name from the image's /etc/group)" },
];

/** A device node on the host, as stat(2) shows it. */
export interface HostDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface DeviceRequest {
  host: string;
  container: string;
  permissions: string;
}

export interface SecurityFlags {
  privileged?: boolean;
  capAdd?: readonly string[];
  capDrop?: readonly string[];
  /** --device values, parsed, with what each names on the host (a directory: every node below it). */
  devices?: ReadonlyArray<{ request: DeviceRequest; found: readonly HostDevice[] }>;
  /** Every device node of the host (only with --privileged). */
  hostDevices?: readonly HostDevice[];
  groupAdd?: readonly string[];
}

/**
 * What "all capabilities" means here (--privileged, --cap-add ALL): those in the runtime's own
 * bounding set, as moby's GetAllCapabilities, so that a runtime without some (no CAP_SYS_RESOURCE
 * in a container host) still runs privileged containers.
 */
export function allCapabilities(bounding: bigint): string[] {
  return Object.entries(CAPABILITY_NUMBERS)
    .filter(([, n]) => (bounding >> BigInt(n)) & 1n)
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name);
}

/** "net_admin", "CAP_NET_ADMIN", "all" -> "CAP_NET_ADMIN", ... "ALL"; an unknown one names the flag. */
export function normalizeCapability(flag: string, name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const cap = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (CAPABILITY_NUMBERS[cap] === undefined) throw invalid(`${flag} ${quote(name)}: unknown capability`, { field: flag });
  return cap;
}

/** moby's TweakCapabilities: ALL added means all but the dropped; ALL dropped means only the added. */
export function tweakCapabilities(basics: readonly string[], adds: readonly string[], drops: readonly string[], all: readonly string[]): string[] {
  const add = adds.map((c) => normalizeCapability('--cap-add', c));
  const drop = drops.map((c) => normalizeCapability('--cap-drop', c));
  let caps: string[];
  if (add.includes('ALL')) caps = all.filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add;
  else caps = [...basics.filter((c) => !drop.includes(c)), ...add];
  return [...new Set(caps)];
}

/** `--device /dev/sda`, `/dev/sda:/dev/xvda`, `/dev/sda:/dev/xvda:rw`, `/dev/sda:r`. */
export function parseDeviceFlag(value: string): DeviceRequest {
  const flag = '--device';
  const parts = value.split(':');
  const perms = (p: string): boolean => /^[rwm]{1,3}$/.test(p) && new Set(p).size === p.length;
  let request: DeviceRequest;
  if (parts.length === 1) request = { host: parts[0]!, container: parts[0]!, permissions: 'rwm' };
  else if (parts.length === 2 && perms(parts[1]!)) request = { host: parts[0]!, container: parts[0]!, permissions: parts[1]! };
  else if (parts.length === 2) request = { host: parts[0]!, container: parts[1]!, permissions: 'rwm' };
  else if (parts.length === 3) request = { host: parts[0]!, container: parts[1]!, permissions: parts[2]! };
  else throw invalid(`${flag} ${quote(value)}: expected HOST[:CONTAINER][:PERMISSIONS]`, { field: flag });
  if (!request.host.startsWith('/') || !request.container.startsWith('/')) throw invalid(`${flag} ${quote(value)}: device paths must be absolute`, { field: flag });
  if (request.container.split('/').includes('..')) throw invalid(`${flag} ${quote(value)}: the container path must not contain ".."`, { field: flag });
  if (!perms(request.permissions)) throw invalid(`${flag} ${quote(value)}: permissions ${quote(request.permissions)} must be made of r, w and m`, { field: flag });
  return request;
}

/** The nodes a request makes: a device at its container path, a directory's devices under it. */
export function requestDevices(request: DeviceRequest, found: readonly HostDevice[]): Array<{ device: Device; access: string }> {
  return found.map((d) => {
    const path = d.path === request.host ? request.container : `${request.container.replace(/\/$/, '')}${d.path.slice(request.host.replace(/\/$/, '').length)}`;
    return { device: { type: d.type, path, major: d.major, minor: d.minor, fileMode: d.mode & 0o7777, uid: d.uid, gid: d.gid }, access: request.permissions };
  });
}

/** `--group-add` values as gids: numbers as they are, names looked up in the image's groups. */
export function groupIds(values: readonly string[], groups: readonly GroupEntry[] | undefined): number[] {
  return values.map((v) => {
    if (/^\d+$/.test(v)) return Number(v);
    const g = groups?.find((e) => e.name === v);
    if (!g) throw invalid(`--group-add ${quote(v)}: no such group in the image's /etc/group`, { field: '--group-add' });
    return g.gid;
  });
}

/** Applies the flags to a spec built on berth's image defaults (before the seccomp profile is chosen). */
export function applySecurity(spec: Spec, flags: SecurityFlags, bounding: bigint): void {
  const process = (spec.process ??= { args: [], cwd: '/', user: { uid: 0, gid: 0 } });
  const linux = (spec.linux ??= {});
  const all = allCapabilities(bounding);
  const basics = flags.privileged ? all : (process.capabilities?.bounding ?? []);
  const caps = tweakCapabilities(basics, flags.capAdd ?? [], flags.capDrop ?? [], all);
  if (flags.privileged || flags.capAdd?.length || flags.capDrop?.length) {
    process.capabilities = { ...(process.capabilities ?? {}), bounding: caps, effective: [...caps], permitted: [...caps] };
    if (process.capabilities.ambient) process.capabilities.ambient = process.capabilities.ambient.filter((c) => caps.includes(c));
    if (process.capabilities.inheritable) process.capabilities.inheritable = process.capabilities.inheritable.filter((c) => caps.includes(c));
  }
  const devices: Device[] = [...(linux.devices ?? [])];
  const rules = [...(linux.resources?.devices ?? [])];
  const add = (device: Device, access: string): void => {
    const i = devices.findIndex((d) => d.path === device.path);
    if (i >= 0) devices.splice(i, 1);
    devices.push(device);
    rules.push({ allow: true, type: device.type, major: device.major!, minor: device.minor!, access });
  };
  if (flags.privileged) {
    for (const d of flags.hostDevices ?? []) add(requestDevices({ host: d.path, container: d.path, permissions: 'rwm' }, [d])[0]!.device, 'rwm');
    rules.splice(0, rules.length, { allow: true, access: 'rwm' });
    linux.maskedPaths = [];
    linux.readonlyPaths = [];
    for (const m of spec.mounts ?? []) {
      if (m.type === 'sysfs' || m.type === 'cgroup' || m.type === 'cgroup2') m.options = (m.options ?? []).filter((o) => o !== 'ro');
    }
  }
  for (const { request, found } of flags.devices ?? []) for (const d of requestDevices(request, found)) add(d.device, d.access);
  if (devices.length) linux.devices = devices;
  if (rules.length) linux.resources = { ...(linux.resources ?? {}), devices: flags.privileged ? [{ allow: true, access: 'rwm' }] : rules };
}

/** Adds the groups (after the image's user is resolved: they come on top of its own). */
export function applyGroups(spec: Spec, gids: readonly number[]): void {
  if (!gids.length || !spec.process?.user) return;
  const user = spec.process.user;
  user.additionalGids = [...new Set([...(user.additionalGids ?? []), ...gids])];
}
