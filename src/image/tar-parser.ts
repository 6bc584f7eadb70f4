// A push parser for tar streams with bounded memory: chunks go in as they arrive and the sink hears
// of each entry synchronously (header, then a regular file's data as views of the chunks, then its
// end). Only headers, pax records and GNU long names are buffered, each capped. Being synchronous,
// a layer's entries cost no promise or generator round trips: unpacking a layer of 30,000 small
// files is mostly system calls (layer-applier.ts).
import { BerthError, invalid, unimplemented } from '../oci/errors.ts';
import { quote } from '../oci/quote.ts';
import { BLOCK, FIELD, PAX_XATTR_PREFIX, parsePaxRecords, type TarEntryType, type TarHeader } from './tar-format.ts';

export interface TarLimits {
  /** Largest pax header or GNU long name/link record accepted (Go's archive/tar uses 1 MiB). */
  maxMetadataBytes: number;
  /** Longest entry name or link target. */
  maxPathBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = { maxMetadataBytes: 1 << 20, maxPathBytes: 4096 };

export interface TarSink {
  /** An entry's header. For a regular file, `data` follows with exactly `header.size` bytes. */
  entry(header: TarHeader): void;
  /** A piece of the current file's data: a view valid only during the call. */
  data(chunk: Buffer): void;
  /** The current entry is complete. */
  end(): void;
}

type State =
  | { at: 'header' }
  /** A pax header or GNU long name/link: `size` bytes of `padded` are kept. */
  | { at: 'meta'; flag: string; size: number; padded: number }
  | { at: 'body'; left: number; pad: number; keep: boolean; name: string }
  | { at: 'pad'; left: number; name: string }
  | { at: 'done' };

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

const META_KIND: Record<string, string> = { x: 'pax header', g: 'global pax header', L: 'GNU long name', K: 'GNU long link' };

export class TarParser {
  private state: State = { at: 'header' };
  /** Bytes gathered for the header or metadata record being read. */
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private globalPax = new Map<string, Buffer>();
  private pax: Map<string, Buffer> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  /** Entries seen (not counting pax and long-name records), for error messages. */
  private index = 0;
  /** Offset of the next byte in the archive. */
  private offset = 0;
  private failed: unknown;

  constructor(
    private readonly sink: TarSink,
    private readonly limits: TarLimits = DEFAULT_TAR_LIMITS,
  ) {}

  /** True once the end-of-archive marker was read; later bytes are ignored. */
  get done(): boolean {
    return this.state.at === 'done';
  }

  push(chunk: Buffer): void {
    if (this.failed !== undefined) throw this.failed;
    try {
      this.consume(chunk);
    } catch (err) {
      this.failed = err;
      throw err;
    }
  }

  /** The input ended: throws if it ended inside an entry. */
  end(): void {
    if (this.failed !== undefined) throw this.failed;
    const s = this.state;
    switch (s.at) {
      case 'done':
        return;
      case 'header':
        if (this.gatheredBytes > 0) throw truncated(`header of entry #${this.index}`);
        if (this.index === 0) throw invalid('tar: empty archive (no entries and no end marker)');
        return; // end without the zero blocks: accepted, as GNU tar does with a warning
      case 'meta':
        throw truncated(`${META_KIND[s.flag]} record at entry #${this.index}`);
      case 'body':
        throw truncated(`entry ${s.name}`);
      case 'pad':
        throw truncated(`padding of entry ${s.name}`);
    }
  }

  private consume(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const s = this.state;
      switch (s.at) {
        case 'done':
          this.offset += chunk.length - off;
          return;
        case 'header': {
          const block = this.gather(chunk, off, BLOCK);
          off += this.lastTaken;
          if (block) this.header(block);
          break;
        }
        case 'meta': {
          const record = this.gather(chunk, off, s.padded);
          off += this.lastTaken;
          if (record) this.meta(s.flag, record.subarray(0, s.size));
          break;
        }
        case 'body': {
          const n = Math.min(s.left, chunk.length - off);
          if (s.keep) this.sink.data(chunk.subarray(off, off + n));
          off += n;
          this.offset += n;
          s.left -= n;
          if (s.left === 0) {
            this.sink.end();
            this.state = s.pad > 0 ? { at: 'pad', left: s.pad, name: s.name } : { at: 'header' };
          }
          break;
        }
        case 'pad': {
          const n = Math.min(s.left, chunk.length - off);
          off += n;
          this.offset += n;
          s.left -= n;
          if (s.left === 0) this.state = { at: 'header' };
          break;
        }
      }
    }
  }

  private lastTaken = 0;

  /** Adds up to `want` bytes from chunk[off..] to the gathered bytes; returns them once complete. */
  private gather(chunk: Buffer, off: number, want: number): Buffer | undefined {
    const n = Math.min(want - this.gatheredBytes, chunk.length - off);
    this.lastTaken = n;
    this.offset += n;
    if (this.gatheredBytes === 0 && n === want) return chunk.subarray(off, off + n);
    this.gathered.push(chunk.subarray(off, off + n));
    this.gatheredBytes += n;
    if (this.gatheredBytes < want) {
      // The views must outlive this chunk.
      this.gathered[this.gathered.length - 1] = Buffer.from(this.gathered[this.gathered.length - 1]!);
      return undefined;
    }
    const out = Buffer.concat(this.gathered, this.gatheredBytes);
    this.gathered = [];
    this.gatheredBytes = 0;
    return out;
  }

  private meta(flag: string, data: Buffer): void {
    const where = `entry #${this.index}`;
    switch (flag) {
      case 'x':
        this.pax = parsePaxRecords(data, where);
        break;
      case 'g':
        this.globalPax = new Map([...this.globalPax, ...parsePaxRecords(data, where)]);
        break;
      case 'L':
        this.longName = this.text(cstring(data, [0, data.length]), 'name');
        break;
      case 'K':
        this.longLink = this.text(cstring(data, [0, data.length]), 'link name');
        break;
    }
    this.state = { at: 'header' };
  }

  private text(b: Buffer, what: string): string {
    const at = `entry #${this.index}`;
    if (b.length > this.limits.maxPathBytes) throw invalid(`tar: ${what} longer than ${this.limits.maxPathBytes} bytes at ${at}`, { field: at });
    const s = b.toString('utf8');
    if (s.includes('\0')) throw invalid(`tar: ${what} contains NUL at ${at}`, { field: at });
    return s;
  }

  private header(block: Buffer): void {
    if (isZero(block)) {
      // End of archive. A second zero block should follow; anything after it is ignored.
      this.state = { at: 'done' };
      return;
    }
    if (!checksumOk(block)) {
      throw invalid(`tar: header checksum mismatch at entry #${this.index} (offset ${this.offset - BLOCK})`, { field: `entry #${this.index}` });
    }
    const flag = String.fromCharCode(block[156]!);
    const rawName = cstring(block, FIELD.name).toString('utf8');
    const size = numeric(block, FIELD.size, 'size', rawName);
    const metaKind = META_KIND[flag];
    if (metaKind !== undefined) {
      if (size > this.limits.maxMetadataBytes) {
        throw new BerthError('resource-exhausted', `tar: ${metaKind} record of ${size} bytes at entry #${this.index} is larger than ${this.limits.maxMetadataBytes}`, { field: `entry #${this.index}` });
      }
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (padded === 0) this.meta(flag, Buffer.alloc(0));
      else this.state = { at: 'meta', flag, size, padded };
      return;
    }
    const header = this.entryHeader(block, flag, rawName, size);
    const type = header.type;
    // Only regular files carry data; a size on anything else is skipped, as tar does for hardlinks.
    const dataSize = header.size;
    if (type !== 'file') header.size = 0;
    this.index++;
    this.sink.entry(header);
    const pad = Math.ceil(dataSize / BLOCK) * BLOCK - dataSize;
    if (dataSize > 0) this.state = { at: 'body', left: dataSize, pad, keep: type === 'file', name: header.name };
    else this.sink.end();
  }

  private entryHeader(block: Buffer, flag: string, rawName: string, size: number): TarHeader {
    const type = TYPES[flag];
    const ustar = block.toString('latin1', 257, 262) === 'ustar';
    const prefix = ustar ? cstring(block, FIELD.prefix).toString('utf8') : '';
    let name = this.longName ?? (prefix ? `${prefix}/${rawName}` : rawName);
    const header: TarHeader = {
      name,
      type: type ?? 'file',
      mode: numeric(block, FIELD.mode, 'mode', name),
      uid: numeric(block, FIELD.uid, 'uid', name),
      gid: numeric(block, FIELD.gid, 'gid', name),
      size,
      mtime: numeric(block, FIELD.mtime, 'mtime', name),
      linkname: this.longLink ?? cstring(block, FIELD.linkname).toString('utf8'),
      uname: cstring(block, FIELD.uname).toString('utf8'),
      gname: cstring(block, FIELD.gname).toString('utf8'),
      devmajor: ustar ? numeric(block, FIELD.devmajor, 'devmajor', name) : 0,
      devminor: ustar ? numeric(block, FIELD.devminor, 'devminor', name) : 0,
      xattrs: new Map(),
    };
    const records = this.pax ? new Map([...this.globalPax, ...this.pax]) : this.globalPax;
    for (const [key, value] of records) {
      if (key === 'path') name = header.name = this.text(value, 'pax path');
      else if (key === 'linkpath') header.linkname = this.text(value, 'pax linkpath');
      else if (key === 'size') header.size = paxNumber(value, key, name);
      else if (key === 'uid') header.uid = paxNumber(value, key, name);
      else if (key === 'gid') header.gid = paxNumber(value, key, name);
      else if (key === 'mtime') header.mtime = paxNumber(value, key, name);
      else if (key === 'uname') header.uname = value.toString('utf8');
      else if (key === 'gname') header.gname = value.toString('utf8');
      else if (key.startsWith(PAX_XATTR_PREFIX)) header.xattrs.set(key.slice(PAX_XATTR_PREFIX.length), value);
      else if (key.startsWith('GNU.sparse.')) throw unimplemented(`tar: sparse file ${name} is not supported`, { field: name });
    }
    this.pax = undefined;
    this.longName = undefined;
    this.longLink = undefined;
    if (type === undefined) {
      throw unimplemented(`tar: entry ${name} has unsupported type '${flag.replace(/[^\x20-\x7e]/g, '?')}'`, { field: name });
    }
    if (!Number.isSafeInteger(header.size) || header.size < 0) throw invalid(`tar: invalid size for entry ${name}`, { field: name });
    if (name.length > this.limits.maxPathBytes) throw invalid(`tar: name longer than ${this.limits.maxPathBytes} bytes`, { field: name.slice(0, 80) });
    return header;
  }
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function cstring(block: Buffer, [off, len]: readonly [number, number]): Buffer {
  const field = block.subarray(off, off + len);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

function numeric(block: Buffer, f: readonly [number, number], name: string, where: string): number {
  const [off, len] = f;
  const field = block.subarray(off, off + len);
  if (field[0]! & 0x80) {
    // GNU base-256: big-endian two's complement with the top bit of the first byte as the marker.
    if (field[0] === 0xff) throw invalid(`tar: negative ${name} in entry ${where}`, { field: where });
    let v = BigInt(field[0]! & 0x7f);
    for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(field[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`tar: ${name} out of range in entry ${where}`, { field: where });
    return Number(v);
  }
  // Octal digits, optionally surrounded by spaces and ended by NUL or space.
  let i = 0;
  while (i < len && field[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < len; i++) {
    const c = field[i]!;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
    digits++;
  }
  let j = i;
  while (j < len && field[j] === 0x20) j++;
  if (j < len && field[j] !== 0) {
    const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
    throw invalid(`tar: invalid ${name} field ${quote(text)} in entry ${where}`, { field: where });
  }
  return digits === 0 ? 0 : v;
}

function checksumOk(block: Buffer): boolean {
  const stored = numericOrNaN(block, FIELD.chksum);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function numericOrNaN(block: Buffer, f: readonly [number, number]): number {
  try {
    return numeric(block, f, 'checksum', '');
  } catch {
    return NaN;
  }
}

function paxNumber(v: Buffer, key: string, where: string): number {
  const text = v.toString('latin1');
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(text)) throw invalid(`tar: invalid pax ${quote(key)} ${quote(text)} in entry ${where}`, { field: where });
  const n = Number(text);
  if (!Number.isFinite(n) || Math.abs(n) > Number.MAX_SAFE_INTEGER) throw invalid(`tar: pax ${key} out of range in entry ${where}`, { field: where });
  return n;
}

function truncated(what: string): BerthError {
  return new BerthError('data-loss', `tar: truncated ${what}`);
}
