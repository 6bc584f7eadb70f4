// The tar wire format shared by the reader and the writer (POSIX ustar + pax, GNU long names):
// header field offsets, type flags, and the pax record codec. Pax values stay raw bytes because
// xattr values (security.capability) are binary.
import { invalid } from '../oci/errors.ts';

export const BLOCK = 512;

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Modification time in seconds since the epoch (pax allows fractions). */
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

export const TYPE_FLAGS: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

export const FIELD = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const;

export const PAX_XATTR_PREFIX = 'SCHILY.xattr.';

/** Parses pax extended header records `"<len> <key>=<value>\n"`; keys as UTF-8, values raw. */
export function parsePaxRecords(data: Buffer, where: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // NUL padding some writers leave at the end
    const space = data.indexOf(0x20, pos);
    if (space < 0 || space - pos > 20) throw invalid(`tar: malformed pax record in ${where}`, { field: where });
    const lenText = data.toString('latin1', pos, space);
    if (!/^[0-9]+$/.test(lenText)) throw invalid(`tar: malformed pax record length in ${where}`, { field: where });
    const len = Number(lenText);
    const end = pos + len;
    if (len <= space - pos + 1 || end > data.length || data[end - 1] !== 0x0a) {
      throw invalid(`tar: malformed pax record in ${where}`, { field: where });
    }
    const eq = data.indexOf(0x3d, space + 1);
    if (eq < 0 || eq >= end) throw invalid(`tar: pax record without '=' in ${where}`, { field: where });
    const key = data.toString('utf8', space + 1, eq);
    out.set(key, Buffer.from(data.subarray(eq + 1, end - 1)));
    pos = end;
  }
  return out;
}

export function encodePaxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}
