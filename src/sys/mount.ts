// mount(2) and umount2(2) through libc. `mountIn` runs the mount with the process's working
// directory set to `cwd`, so that overlay options can list lower directories by short relative
// paths (the whole option string must fit in one page).
import { libc, errnoError } from './libc.ts';

const mountC = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
const umount2C = libc.func('int umount2(const char *target, int flags)');

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MNT_DETACH = 0x2;

export function mount(source: string, target: string, fstype: string | null, flags: number, data: string | null): void {
  if (mountC(source, target, fstype, flags, data) !== 0) throw errnoError(`mount ${fstype ?? 'bind'}`, target);
}

export function mountIn(cwd: string | undefined, source: string, target: string, fstype: string | null, flags: number, data: string | null): void {
  if (cwd === undefined) return mount(source, target, fstype, flags, data);
  const previous = process.cwd();
  process.chdir(cwd);
  try {
    mount(source, target, fstype, flags, data);
  } finally {
    process.chdir(previous);
  }
}

export function umount(target: string, flags = 0): void {
  if (umount2C(target, flags) !== 0) throw errnoError('umount', target);
}
