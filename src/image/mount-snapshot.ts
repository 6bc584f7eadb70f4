// Mounts a snapshot's MountSpec on a directory (root only). Overlay specs with `cwd` carry relative
// lower directories (an image of many layers): berth-spawn mounts them from inside that directory.
import { resolve } from 'node:path';
import { unimplemented } from '../oci/errors.ts';
import { MNT_DETACH, MS_BIND, MS_RDONLY, MS_REC, mount, mountFrom, umount } from '../sys/mount.ts';
import type { MountSpec } from './mount-spec.ts';

const MS_REMOUNT = 0x20;

export async function mountSnapshot(spec: MountSpec, target: string): Promise<void> {
  const abs = resolve(target);
  if (spec.type === 'bind') {
    mount(spec.source, abs, null, MS_BIND | MS_REC, null);
    if (spec.options.includes('ro')) mount('', abs, null, MS_REMOUNT | MS_BIND | MS_RDONLY, null);
    return;
  }
  if (spec.type === 'overlay') {
    const data = spec.options.join(',');
    if (spec.cwd === undefined) mount(spec.source, abs, 'overlay', 0, data);
    else await mountFrom(spec.cwd, spec.source, abs, 'overlay', 0, data);
    return;
  }
  throw unimplemented(`cannot mount a snapshot of type ${spec.type}`, { field: 'type' });
}

export function unmountSnapshot(target: string, detach = false): void {
  umount(resolve(target), detach ? MNT_DETACH : 0);
}
