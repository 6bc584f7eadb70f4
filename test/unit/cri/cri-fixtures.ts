// Requests and host facts for the CRI spec tests: a plain pod and container, and facts in which
// every host path and device of the request has been looked up.
import { parseGroup, parsePasswd } from '../../../src/image/image-user.ts';
import type { ContainerFacts, HostDevice } from '../../../src/cri/container-facts.ts';
import type { ContainerConfig, PodSandboxConfig } from '../../../src/cri/cri-types.ts';
import type { Seccomp } from '../../../src/oci/runtime-spec.ts';

export const POD_UID = '6d2f5c34-0c5e-4b7e-9a8e-3b1f0f4c2a11';
export const SANDBOX_ID = 'a'.repeat(64);
export const CONTAINER_ID = 'c'.repeat(64);

/** A stand-in for berth's default profile (written by someone else): only its identity matters here. */
export const RUNTIME_DEFAULT: Seccomp = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };

// Debian's base files as an image carries them.
export const ETC_PASSWD = parsePasswd(
  ['root:x:0:0:root:/root:/bin/bash', 'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin', 'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin', 'nginx:x:101:101:nginx user:/nonexistent:/bin/false', 'app:x:1000:1000::/home/app:/bin/sh'].join('\n'),
);
export const ETC_GROUP = parseGroup(['root:x:0:', 'daemon:x:1:', 'adm:x:4:app', 'tty:x:5:', 'www-data:x:33:', 'nginx:x:101:', 'app:x:1000:', 'audio:x:29:app,www-data', 'staff:x:50:root'].join('\n'));

export function podConfig(over: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  return {
    metadata: { name: 'web', uid: POD_UID, namespace: 'default', attempt: 0 },
    hostname: 'web',
    log_directory: `/var/log/pods/default_web_${POD_UID}`,
    dns_config: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] },
    port_mappings: [],
    labels: {},
    annotations: {},
    linux: { cgroup_parent: `/kubepods/besteffort/pod${POD_UID}`, security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } }, sysctls: {} },
    ...over,
  };
}

export function containerConfig(over: Partial<ContainerConfig> = {}): ContainerConfig {
  return { metadata: { name: 'app', attempt: 0 }, image: { image: 'sha256:' + 'e'.repeat(64) }, log_path: 'app/0.log', ...over };
}

export const device = (path: string, major: number, minor: number, type: 'c' | 'b' = 'c'): HostDevice => ({ path, type, major, minor, fileMode: 0o660, uid: 0, gid: 0 });

export function facts(over: Partial<ContainerFacts> = {}): ContainerFacts {
  return {
    containerId: CONTAINER_ID,
    sandboxId: SANDBOX_ID,
    rootfs: `/var/lib/berth/containers/${CONTAINER_ID}/rootfs`,
    imageName: 'docker.io/library/app:latest',
    etcPasswd: ETC_PASSWD,
    etcGroup: ETC_GROUP,
    pod: {
      namespaces: { network: { path: `/run/berth/pods/${SANDBOX_ID}/ns/net` }, ipc: { path: `/run/berth/pods/${SANDBOX_ID}/ns/ipc` }, uts: { path: `/run/berth/pods/${SANDBOX_ID}/ns/uts` }, pid: 'per-container' },
      files: {
        hostname: `/var/lib/berth/pods/${SANDBOX_ID}/hostname`,
        hosts: `/var/lib/berth/pods/${SANDBOX_ID}/hosts`,
        resolvConf: `/var/lib/berth/pods/${SANDBOX_ID}/resolv.conf`,
        shm: `/run/berth/pods/${SANDBOX_ID}/shm`,
      },
      cgroupParent: `/kubepods/besteffort/pod${POD_UID}`,
      nodeHostname: 'node-1',
    },
    hostPaths: {},
    devices: {},
    hostDevices: [device('/dev/null', 1, 3), device('/dev/sda', 8, 0, 'b'), device('/dev/fuse', 10, 229)],
    seccomp: { runtimeDefault: RUNTIME_DEFAULT, localhost: {} },
    imageVolumeDir: `/var/lib/berth/containers/${CONTAINER_ID}/volumes`,
    host: { cgroupV2: false, swapAccounting: true, hugetlb: true, recursiveReadOnly: true },
    ...over,
  };
}

/** Facts where each given host path resolves to itself on a private mount (or as stated). */
export function withHostPaths(f: ContainerFacts, paths: Record<string, string | [string, 'shared' | 'slave' | 'private']>): ContainerFacts {
  const hostPaths = { ...f.hostPaths };
  for (const [p, v] of Object.entries(paths)) {
    const [resolved, mountPropagation] = typeof v === 'string' ? [v, 'private' as const] : v;
    hostPaths[p] = { resolved, mountPropagation };
  }
  return { ...f, hostPaths };
}
