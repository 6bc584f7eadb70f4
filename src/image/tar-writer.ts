// Tar headers for writing archives (layers built by tests and `berth build`, OCI layout and
// `docker save` tarballs). ustar when every field fits, a pax header before it when one does not
// or when the entry has xattrs (whose values are written as raw bytes).
import { invalid } from '../oci/errors.ts';
import { BLOCK, FIELD, PAX_XATTR_PREFIX, TYPE_FLAGS, encodePaxRecord, type TarEntryType } from './tar-format.ts';

export interface TarWriteEntry {
  name: string;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer> | Record<string, Buffer>;
}

function putString(block: Buffer, [off, len]: readonly [number, number], value: string): boolean {
  const b = Buffer.from(value, 'utf8');
  if (b.length > len) return false;
  b.copy(block, off);
  return true;
}

function putOctal(block: Buffer, [off, len]: readonly [number, number], value: number): boolean {
  const text = Math.floor(value).toString(8);
  if (value < 0 || text.length > len - 1) return false;
  block.write(text.padStart(len - 1, '0') + '\0', off, 'latin1');
  return true;
}

function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { prefix, name: rest };
  }
  return undefined;
}

function headerBlock(e: TarWriteEntry, pax: Map<string, Buffer>, flag: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  const name = e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  const split = flag === 'x' ? { prefix: '', name: name.slice(0, 99) } : splitUstarName(name);
  if (split) {
    putString(block, FIELD.name, split.name);
    putString(block, FIELD.prefix, split.prefix);
  } else {
    pax.set('path', Buffer.from(name, 'utf8'));
    putString(block, FIELD.name, Buffer.from(name).subarray(0, 100).toString('latin1').replace(/[^\x20-\x7e]/g, '_'));
  }
  putOctal(block, FIELD.mode, (e.mode ?? (e.type === 'dir' ? 0o755 : 0o644)) & 0o7777);
  for (const key of ['uid', 'gid'] as const) {
    if (!putOctal(block, FIELD[key], e[key] ?? 0)) {
      pax.set(key, Buffer.from(String(e[key])));
      putOctal(block, FIELD[key], 0);
    }
  }
  const size = e.type === 'file' || flag === 'x' ? e.size ?? 0 : 0;
  if (!putOctal(block, FIELD.size, size)) {
    pax.set('size', Buffer.from(String(size)));
    putOctal(block, FIELD.size, 0);
  }
  const mtime = e.mtime ?? 0;
  if (!Number.isInteger(mtime) || !putOctal(block, FIELD.mtime, mtime)) {
    pax.set('mtime', Buffer.from(String(mtime)));
    putOctal(block, FIELD.mtime, Math.max(0, Math.floor(mtime)));
  }
  block.write(flag, FIELD.typeflag[0], 'latin1');
  const linkname = e.linkname ?? '';
  if (!putString(block, FIELD.linkname, linkname)) pax.set('linkpath', Buffer.from(linkname, 'utf8'));
  block.write('ustar\0' + '00', FIELD.magic[0], 'latin1');
  putString(block, FIELD.uname, e.uname ?? '');
  putString(block, FIELD.gname, e.gname ?? '');
  putOctal(block, FIELD.devmajor, e.devmajor ?? 0);
  putOctal(block, FIELD.devminor, e.devminor ?? 0);
  block.write('        ', FIELD.chksum[0], 'latin1');
  let sum = 0;
  for (const b of block) sum += b;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', FIELD.chksum[0], 'latin1');
  return block;
}

/** The header block(s) for one entry: a pax header first when needed. Data and padding follow. */
export function tarHeader(e: TarWriteEntry): Buffer {
  if (e.name === '' || e.name.includes('\0')) throw invalid(`tar: invalid entry name "${e.name}"`);
  const pax = new Map<string, Buffer>();
  const xattrs = e.xattrs instanceof Map ? e.xattrs : new Map(Object.entries(e.xattrs ?? {}));
  for (const [k, v] of xattrs) pax.set(PAX_XATTR_PREFIX + k, v);
  const main = headerBlock(e, pax, TYPE_FLAGS[e.type]);
  if (pax.size === 0) return main;
  const records = Buffer.concat([...pax].map(([k, v]) => encodePaxRecord(k, v)));
  const paxHeader = headerBlock({ name: `PaxHeaders/${e.name.slice(-80)}`, type: 'file', size: records.length, mtime: 0 }, new Map(), 'x');
  return Buffer.concat([paxHeader, records, Buffer.alloc(padLength(records.length)), main]);
}

export function padLength(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

export const TAR_END = Buffer.alloc(BLOCK * 2);

/** A whole archive in memory (for tests and small documents). */
export function tarArchive(entries: ReadonlyArray<TarWriteEntry & { data?: Buffer | string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const size = e.type === 'file' ? data.length : 0;
    parts.push(tarHeader({ ...e, size }));
    if (size) parts.push(data, Buffer.alloc(padLength(size)));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}
