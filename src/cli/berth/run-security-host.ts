// The host facts `berth run`'s privilege flags need, read before anything is made: the device
// nodes a --device names (a directory: every node below it), every device of the host for
// --privileged (as moby's HostDevices: /dev without pts, shm, mqueue, fd), and, once the rootfs is
// mounted, the image's groups for --group-add names.
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError, invalid } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import { MAX_ID_FILE_BYTES, parseGroup, type GroupEntry } from '../../image/image-user.ts';
import { LayeredRootfs } from '../../image/rootfs-view.ts';
import type { HostDevice } from './run-security.ts';

const SKIPPED_UNDER_DEV = new Set(['pts', 'shm', 'mqueue', 'fd', '.lxc', '.lxd-mounts', '.udev']);

function asDevice(path: string, st: Stats): HostDevice | undefined {
  if (!st.isCharacterDevice() && !st.isBlockDevice()) return undefined;
  // rdev as the kernel's new_encode_dev: major in bits 8-19, minor in 0-7 and 20-31.
  const rdev = st.rdev;
  return {
    path,
    type: st.isCharacterDevice() ? 'c' : 'b',
    major: (rdev >> 8) & 0xfff,
    minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
  };
}

function walk(dir: string, skip: ReadonlySet<string>, out: HostDevice[]): void {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) walk(path, new Set(), out);
    else {
      const d = asDevice(path, st);
      if (d) out.push(d);
    }
  }
}

/** The nodes `--device HOST` names (a symlink is followed once, as docker does). */
export function hostDevicesAt(host: string): HostDevice[] {
  let st: Stats;
  try {
    st = statSync(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw invalid(`--device: ${quote(host)} does not exist on this machine`, { field: '--device', path: host });
    throw fromSystemError(err, '--device: stat', host);
  }
  if (st.isDirectory()) {
    const out: HostDevice[] = [];
    walk(host, new Set(), out);
    return out;
  }
  const d = asDevice(host, st);
  if (!d) throw invalid(`--device: ${quote(host)} is not a device node`, { field: '--device', path: host });
  return [d];
}

/** Every device node under /dev, for --privileged. */
export function allHostDevices(): HostDevice[] {
  const out: HostDevice[] = [];
  walk('/dev', SKIPPED_UNDER_DEV, out);
  return out;
}

/** The image's /etc/group from its mounted rootfs (resolved inside it), or undefined without one. */
export async function imageGroups(rootfs: string): Promise<GroupEntry[] | undefined> {
  const text = await new LayeredRootfs([rootfs]).readFile('/etc/group', MAX_ID_FILE_BYTES);
  return text === undefined ? undefined : parseGroup(text.toString('utf8'));
}
