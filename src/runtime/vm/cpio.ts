// The "newc" cpio format the kernel unpacks an initramfs from (Documentation/driver-api/
// early-userspace/buffer-format.rst): a 110-byte ASCII header per entry, the NUL-terminated name
// and the data each padded to 4 bytes, then an entry named TRAILER!!!. Pure.

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'char'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio: field ${n} does not fit in 8 hex digits`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(ino: number, mode: number, size: number, nameSize: number, rdev: [number, number] = [0, 0]): string {
  const fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1], nameSize, 0];
  return `070701${fields.map(hex8).join('')}`;
}

/** The archive of `entries`, in order (a directory must come before what it holds). */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const push = (hdr: string, name: string, data?: Uint8Array): void => {
    const nameBytes = Buffer.from(`${name}\0`);
    const head = Buffer.concat([Buffer.from(hdr, 'ascii'), nameBytes]);
    parts.push(head, Buffer.alloc(pad4(head.length)));
    if (data?.length) parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength), Buffer.alloc(pad4(data.length)));
  };
  entries.forEach((e, i) => {
    const name = e.path.replace(/^\/+/, '');
    if (!name || name.split('/').includes('..')) throw new RangeError(`cpio: bad entry path "${e.path}"`);
    const nameSize = Buffer.byteLength(name) + 1;
    if (e.type === 'dir') push(header(i + 1, S_IFDIR | (e.mode ?? 0o755), 0, nameSize), name);
    else if (e.type === 'char') push(header(i + 1, S_IFCHR | (e.mode ?? 0o600), 0, nameSize, [e.major, e.minor]), name);
    else push(header(i + 1, S_IFREG | (e.mode ?? 0o644), e.data.length, nameSize), name, e.data);
  });
  push(header(0, 0, 0, 'TRAILER!!!'.length + 1), 'TRAILER!!!');
  return Buffer.concat(parts);
}
