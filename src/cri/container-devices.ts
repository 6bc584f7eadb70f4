// The container's device nodes and its device cgroup rules. The cgroup denies everything, then
// allows each requested device with its permissions (containerd's default spec and
// oci.WithDevices); a host directory (/dev/snd) brings every node under it. A privileged
// container gets every host device node and a rule allowing all devices.
import { BerthError, invalid } from '../oci/errors.ts';
import type { Device, DeviceCgroupRule } from '../oci/runtime-spec.ts';
import type { HostDevice } from './container-facts.ts';
import { containerPath, hostPath } from './container-paths.ts';
import type { Device as CriDevice } from './cri-types.ts';

export interface ContainerDevices {
  devices: Device[];
  rules: DeviceCgroupRule[];
}

function permissions(raw: string | undefined, field: string): string {
  const p = raw ?? '';
  if (p === '') return 'rwm';
  if (!/^[rwm]{1,3}$/.test(p) || new Set(p).size !== p.length) throw invalid(`${field}: ${JSON.stringify(p)} is not a combination of r, w and m`, { field });
  return ['r', 'w', 'm'].filter((c) => p.includes(c)).join('');
}

const node = (d: HostDevice, path: string): Device => ({ type: d.type, path, major: d.major, minor: d.minor, fileMode: d.fileMode, uid: d.uid, gid: d.gid });

export function containerDevices(requested: CriDevice[], facts: Record<string, HostDevice[]>, privileged: boolean, hostDevices: HostDevice[]): ContainerDevices {
  const devices = new Map<string, Device>();
  const rules: DeviceCgroupRule[] = [{ allow: false, access: 'rwm' }];
  if (privileged) for (const d of hostDevices) devices.set(d.path, node(d, d.path));
  requested.forEach((r, i) => {
    const field = `config.devices[${i}]`;
    const host = hostPath(r.host_path, `${field}.host_path`);
    const dest = r.container_path ? containerPath(r.container_path, `${field}.container_path`) : host;
    const access = permissions(r.permissions, `${field}.permissions`);
    const nodes = facts[host];
    if (!nodes) throw new BerthError('internal', `${field}.host_path: ${host} was not looked up on the host before the spec was made`, { field: `${field}.host_path`, path: host });
    if (nodes.length === 0) throw invalid(`${field}.host_path: ${host} is not a device and holds no devices`, { field: `${field}.host_path`, path: host });
    for (const d of nodes) {
      // A node under a requested directory keeps its place below the container path.
      let path = dest;
      if (d.path !== host) {
        if (!d.path.startsWith(`${host}/`)) throw new BerthError('internal', `${field}.host_path: device ${d.path} is not under ${host}`, { field: `${field}.host_path`, path: d.path });
        path = dest + d.path.slice(host.length);
      }
      devices.set(path, node(d, path));
      rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access });
    }
  });
  if (privileged) rules.splice(0, rules.length, { allow: true, access: 'rwm' });
  return { devices: [...devices.values()], rules };
}
