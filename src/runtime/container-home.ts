// HOME for a process whose env lacks it, as runc sets it: the user's home directory from the
// container's /etc/passwd, else "/". The file belongs to the image, so it is read without
// following any symlink and with a size bound: it can't make berth read a host file.

import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

const MAX_PASSWD_BYTES = 1 << 20;

export function readPasswdInRoot(rootfs: string): string | undefined {
  try {
    if (!lstatSync(join(rootfs, 'etc')).isDirectory()) return undefined;
    const fd = openSync(join(rootfs, 'etc/passwd'), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size > MAX_PASSWD_BYTES) return undefined;
      const buf = Buffer.alloc(st.size);
      let off = 0;
      while (off < buf.length) {
        const n = readSync(fd, buf, off, buf.length - off, off);
        if (n === 0) break;
        off += n;
      }
      return buf.toString('utf8', 0, off);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** Pure: the home directory of uid in passwd text. */
export function homeFromPasswd(passwd: string | undefined, uid: number): string | undefined {
  for (const line of (passwd ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && Number(f[2]) === uid && f[2] !== '' && f[5]) return f[5];
  }
  return undefined;
}
