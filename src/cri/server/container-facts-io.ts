// Gathers what CreateContainer's spec mapping needs from the host and the image (container-facts.ts
// says what): host paths resolved once (a symlink into /proc or /sys is refused), the propagation
// of the mounts they live on, device nodes, seccomp profiles, the image's passwd and group files,
// the pod's namespaces and files, and cgroup facts.
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { invalid, fromSystemError } from '../../oci/errors.ts';
import { parseGroup, parsePasswd, MAX_ID_FILE_BYTES } from '../../image/image-user.ts';
import type { MountSpec } from '../../image/mount-spec.ts';
import { LayeredRootfs } from '../../image/rootfs-view.ts';
import { parseMountinfo, type MountinfoEntry } from '../../runtime/cgroups/cgroup-host.ts';
import { defaultSeccompProfile } from '../../runtime/seccomp/default-profile.ts';
import { resolveDockerProfile, type DockerSeccompProfile } from '../../runtime/seccomp/docker-profile.ts';
import { containerCapabilities } from '../container-capabilities.ts';
import type { ContainerFacts, HostDevice, HostPathFact, PodNamespaces } from '../container-facts.ts';
import type { ContainerConfig } from '../cri-types.ts';
import type { PodRecord } from '../pod-record.ts';
import { seccompChoice } from '../security-profile.ts';

/** Host trees a container must never get a bind of through a symlink: the kernel's own views. */
const KERNEL_TREES = ['/proc', '/sys'];

const under = (path: string, dir: string): boolean => dir === '/' || path === dir || path.startsWith(`${dir}/`);

/** Pure: the propagation of the mount `path` lives on (the longest mount point above it). */
export function propagationAt(mounts: readonly MountinfoEntry[], path: string): HostPathFact['mountPropagation'] {
  let best: MountinfoEntry | undefined;
  for (const m of mounts) if (under(path, m.mountpoint) && (!best || m.mountpoint.length >= best.mountpoint.length)) best = m;
  const fields = best?.optional ?? [];
  if (fields.some((f) => f.startsWith('shared:'))) return 'shared';
  if (fields.some((f) => f.startsWith('master:'))) return 'slave';
  return 'private';
}

/** Pure: a host path whose resolution left where it was asked for and landed in /proc or /sys. */
export function checkResolvedHostPath(asked: string, resolved: string, field: string): void {
  for (const tree of KERNEL_TREES) {
    if (under(resolved, tree) && !under(asked, tree)) {
      throw invalid(`${field}: host path ${JSON.stringify(asked)} resolves through a symlink to ${JSON.stringify(resolved)}, inside ${tree}; refused`, { field, path: asked });
    }
  }
}

function hostPathFacts(config: ContainerConfig): Record<string, HostPathFact> {
  const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const out: Record<string, HostPathFact> = {};
  (config.mounts ?? []).forEach((m, i) => {
    const asked = m.host_path ?? '';
    const field = `config.mounts[${i}].host_path`;
    if (!asked.startsWith('/')) return; // the spec mapping refuses it with its own message
    // As containerd: a host path that does not exist is made as a directory.
    if (!existsSync(asked)) {
      try {
        mkdirSync(asked, { recursive: true, mode: 0o755 });
      } catch (err) {
        throw fromSystemError(err, 'mkdir', asked);
      }
    }
    const resolved = realpathSync(asked);
    checkResolvedHostPath(asked, resolved, field);
    out[asked] = { resolved, mountPropagation: propagationAt(mounts, resolved) };
  });
  return out;
}

function deviceAt(path: string): HostDevice | undefined {
  const st = statSync(path);
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return { path, type, major: Number((BigInt(st.rdev) >> 8n) & 0xfffn), minor: Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n)), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

function devicesBelow(dir: string, depth = 0): HostDevice[] {
  const out: HostDevice[] = [];
  if (depth > 4) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (dir === '/dev' && (e.name === 'pts' || e.name === 'shm' || e.name === 'mqueue')) continue;
      out.push(...devicesBelow(p, depth + 1));
    } else if (e.isCharacterDevice() || e.isBlockDevice()) {
      const d = deviceAt(p);
      if (d) out.push(d);
    }
  }
  return out;
}

function deviceFacts(config: ContainerConfig): Record<string, HostDevice[]> {
  const out: Record<string, HostDevice[]> = {};
  (config.devices ?? []).forEach((d, i) => {
    const p = d.host_path ?? '';
    if (!p.startsWith('/')) return;
    const field = `config.devices[${i}].host_path`;
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      throw invalid(`${field}: ${JSON.stringify(p)}: ${(err as Error).message}`, { field, path: p });
    }
    const nodes = st.isDirectory() ? devicesBelow(p) : [deviceAt(p)].filter((x): x is HostDevice => !!x);
    if (!nodes.length) throw invalid(`${field}: ${JSON.stringify(p)} is not a device node`, { field, path: p });
    out[p] = nodes;
  });
  return out;
}

function seccompFacts(config: ContainerConfig): ContainerFacts['seccomp'] {
  const sc = config.linux?.security_context ?? null;
  const target = { nodeArch: process.arch, kernelRelease: release(), capabilities: containerCapabilities(sc?.capabilities, sc?.privileged === true).bounding ?? [] };
  const localhost: ContainerFacts['seccomp']['localhost'] = {};
  const choice = seccompChoice(sc?.seccomp, sc?.seccomp_profile_path, 'config.linux.security_context');
  if (choice.kind === 'localhost') {
    let profile: DockerSeccompProfile;
    try {
      profile = JSON.parse(readFileSync(choice.path, 'utf8')) as DockerSeccompProfile;
    } catch (err) {
      throw invalid(`config.linux.security_context.seccomp: the Localhost profile ${choice.path} cannot be read: ${(err as Error).message}`, { field: 'config.linux.security_context.seccomp', path: choice.path });
    }
    const resolved = resolveDockerProfile(profile, target);
    if (resolved) localhost[choice.path] = resolved;
  }
  return { runtimeDefault: defaultSeccompProfile(target), localhost };
}

/** The image's layers below a container's overlay (its lowerdir, topmost first), to read files from. */
export function imageLayers(mount: MountSpec): LayeredRootfs | undefined {
  const lower = mount.options.find((o) => o.startsWith('lowerdir='));
  if (!lower) return mount.type === 'bind' ? new LayeredRootfs([mount.source]) : undefined;
  const dirs = lower.slice('lowerdir='.length).split(':').map((d) => (mount.cwd && !d.startsWith('/') ? join(mount.cwd, d) : d));
  return new LayeredRootfs(dirs);
}

/** What the resource mapping needs to know of the host's cgroups. */
export function hostResourceFacts(): { swapAccounting: boolean; hugetlb: boolean } {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  return {
    swapAccounting: v2 ? existsSync('/sys/fs/cgroup/init.scope/memory.swap.max') : existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
    hugetlb: v2 ? readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').includes('hugetlb') : existsSync('/sys/fs/cgroup/hugetlb'),
  };
}

export interface GatherInput {
  containerId: string;
  pod: PodRecord;
  config: ContainerConfig;
  imageName: string;
  /** The image's unpacked layers (lowest first), for its /etc/passwd and /etc/group. */
  layers: LayeredRootfs | undefined;
  nodeHostname: string;
  imageVolumeDir: string;
  target?: ContainerFacts['target'];
}

export async function gatherContainerFacts(input: GatherInput): Promise<ContainerFacts> {
  const { pod, config } = input;
  const passwd = await input.layers?.readFile('/etc/passwd', MAX_ID_FILE_BYTES);
  const group = await input.layers?.readFile('/etc/group', MAX_ID_FILE_BYTES);
  const pid: PodNamespaces['pid'] = pod.namespaces.pid === 'host' ? 'host' : 'per-container';
  return {
    containerId: input.containerId,
    sandboxId: pod.id,
    rootfs: '',
    imageName: input.imageName,
    ...(passwd ? { etcPasswd: parsePasswd(passwd.toString('utf8')) } : {}),
    ...(group ? { etcGroup: parseGroup(group.toString('utf8')) } : {}),
    pod: { namespaces: { network: pod.namespaces.network, ipc: pod.namespaces.ipc, uts: pod.namespaces.uts, pid }, files: pod.files, cgroupParent: pod.cgroupParent, nodeHostname: input.nodeHostname },
    hostPaths: hostPathFacts(config),
    devices: deviceFacts(config),
    hostDevices: config.linux?.security_context?.privileged ? devicesBelow('/dev') : [],
    seccomp: seccompFacts(config),
    imageVolumeDir: input.imageVolumeDir,
    ...(input.target ? { target: input.target } : {}),
    host: { cgroupV2: existsSync('/sys/fs/cgroup/cgroup.controllers'), ...hostResourceFacts(), recursiveReadOnly: false },
  };
}
