// A streaming tar reader with bounded memory: headers, pax records and GNU long names are the only
// things buffered, each capped; file bodies flow through as the chunks that arrive.
import { BerthError, invalid, unimplemented } from '../oci/errors.ts';
import { BLOCK, FIELD, PAX_XATTR_PREFIX, parsePaxRecords, type TarEntryType, type TarHeader } from './tar-format.ts';

export interface TarLimits {
  /** Largest pax header or GNU long name/link record accepted (Go's archive/tar uses 1 MiB). */
  maxMetadataBytes: number;
  /** Longest entry name or link target. */
  maxPathBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = { maxMetadataBytes: 1 << 20, maxPathBytes: 4096 };

export interface TarEntry {
  header: TarHeader;
  /** The entry's data; must be consumed or `skip`ped before asking for the next entry. */
  body(): AsyncGenerator<Buffer>;
}

class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private readonly it: AsyncIterator<Uint8Array>;
  consumed = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    if (b.length) {
      this.chunks.push(b);
      this.buffered += b.length;
    }
    return true;
  }

  /** Exactly n bytes, or fewer only at end of input. */
  async read(n: number): Promise<Buffer> {
    while (this.buffered < n && (await this.fill()));
    const take = Math.min(n, this.buffered);
    const out = take === 0 ? Buffer.alloc(0) : this.take(take);
    return out;
  }

  private take(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const head = this.chunks[0]!;
      if (head.length <= need) {
        parts.push(head);
        this.chunks.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        this.chunks[0] = head.subarray(need);
        need = 0;
      }
    }
    this.buffered -= n;
    this.consumed += n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Up to n bytes as they arrive, without gathering them. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill())) return;
      if (this.buffered === 0) continue;
      const head = this.chunks[0]!;
      const take = Math.min(left, head.length);
      yield this.take(take);
      left -= take;
    }
  }

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
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`tar: invalid ${name} field "${text}" in entry ${where}`, { field: where });
  return parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = parseInt(block.toString('latin1', 148, 156).replace(/\0.*$/s, '').trim(), 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

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

function paxNumber(v: Buffer, key: string, where: string): number {
  const text = v.toString('latin1');
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(text)) throw invalid(`tar: invalid pax ${key} "${text}" in entry ${where}`, { field: where });
  const n = Number(text);
  if (!Number.isFinite(n) || Math.abs(n) > Number.MAX_SAFE_INTEGER) throw invalid(`tar: pax ${key} out of range in entry ${where}`, { field: where });
  return n;
}

/** Reads entries one by one. Throws invalid-argument for malformed input, data-loss for truncation. */
export async function* readTar(source: AsyncIterable<Uint8Array>, limits: TarLimits = DEFAULT_TAR_LIMITS): AsyncGenerator<TarEntry> {
  const src = new ByteSource(source);
  let globalPax = new Map<string, Buffer>();
  let pax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let index = 0;

  const readMeta = async (size: number, kind: string): Promise<Buffer> => {
    if (size > limits.maxMetadataBytes) {
      throw new BerthError('resource-exhausted', `tar: ${kind} record of ${size} bytes at entry #${index} is larger than ${limits.maxMetadataBytes}`, { field: `entry #${index}` });
    }
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const data = await src.read(padded);
    if (data.length < padded) throw truncated(`${kind} record at entry #${index}`);
    return data.subarray(0, size);
  };
  const text = (b: Buffer, what: string): string => {
    if (b.length > limits.maxPathBytes) throw invalid(`tar: ${what} longer than ${limits.maxPathBytes} bytes at entry #${index}`, { field: `entry #${index}` });
    const s = b.toString('utf8');
    if (s.includes('\0')) throw invalid(`tar: ${what} contains NUL at entry #${index}`, { field: `entry #${index}` });
    return s;
  };

  for (;;) {
    const block = await src.read(BLOCK);
    if (block.length === 0) {
      if (index === 0) throw invalid('tar: empty archive (no entries and no end marker)');
      return; // end without the zero blocks: accepted, as GNU tar does with a warning
    }
    if (block.length < BLOCK) throw truncated(`header of entry #${index}`);
    if (block.every((b) => b === 0)) {
      // End of archive. A second zero block should follow; anything after it is ignored.
      await src.read(BLOCK);
      return;
    }
    if (!checksumOk(block)) throw invalid(`tar: header checksum mismatch at entry #${index} (offset ${src.consumed - BLOCK})`, { field: `entry #${index}` });
    const flag = String.fromCharCode(block[156]!);
    const rawName = cstring(block, FIELD.name).toString('utf8');
    const size = numeric(block, FIELD.size, 'size', rawName);
    switch (flag) {
      case 'x':
        pax = parsePaxRecords(await readMeta(size, 'pax header'), `entry #${index}`);
        continue;
      case 'g':
        globalPax = new Map([...globalPax, ...parsePaxRecords(await readMeta(size, 'global pax header'), `entry #${index}`)]);
        continue;
      case 'L':
        longName = text(cstring(await readMeta(size, 'GNU long name'), [0, size]), 'name');
        continue;
      case 'K':
        longLink = text(cstring(await readMeta(size, 'GNU long link'), [0, size]), 'link name');
        continue;
    }
    const type = TYPES[flag];
    const ustar = block.toString('latin1', 257, 262) === 'ustar';
    const prefix = ustar ? cstring(block, FIELD.prefix).toString('utf8') : '';
    let name = longName ?? (prefix ? `${prefix}/${rawName}` : rawName);
    let linkname = longLink ?? cstring(block, FIELD.linkname).toString('utf8');
    const header: TarHeader = {
      name,
      type: type ?? 'file',
      mode: numeric(block, FIELD.mode, 'mode', name),
      uid: numeric(block, FIELD.uid, 'uid', name),
      gid: numeric(block, FIELD.gid, 'gid', name),
      size,
      mtime: numeric(block, FIELD.mtime, 'mtime', name),
      linkname,
      uname: cstring(block, FIELD.uname).toString('utf8'),
      gname: cstring(block, FIELD.gname).toString('utf8'),
      devmajor: ustar ? numeric(block, FIELD.devmajor, 'devmajor', name) : 0,
      devminor: ustar ? numeric(block, FIELD.devminor, 'devminor', name) : 0,
      xattrs: new Map(),
    };
    const records = pax ? new Map([...globalPax, ...pax]) : globalPax;
    for (const [key, value] of records) {
      if (key === 'path') name = header.name = text(value, 'pax path');
      else if (key === 'linkpath') linkname = header.linkname = text(value, 'pax linkpath');
      else if (key === 'size') header.size = paxNumber(value, key, name);
      else if (key === 'uid') header.uid = paxNumber(value, key, name);
      else if (key === 'gid') header.gid = paxNumber(value, key, name);
      else if (key === 'mtime') header.mtime = paxNumber(value, key, name);
      else if (key === 'uname') header.uname = value.toString('utf8');
      else if (key === 'gname') header.gname = value.toString('utf8');
      else if (key.startsWith(PAX_XATTR_PREFIX)) header.xattrs.set(key.slice(PAX_XATTR_PREFIX.length), value);
      else if (key.startsWith('GNU.sparse.')) throw unimplemented(`tar: sparse file ${name} is not supported`, { field: name });
    }
    pax = undefined;
    longName = undefined;
    longLink = undefined;
    if (type === undefined) {
      throw unimplemented(`tar: entry ${name} has unsupported type '${flag.replace(/[^\x20-\x7e]/g, '?')}'`, { field: name });
    }
    if (!Number.isSafeInteger(header.size) || header.size < 0) throw invalid(`tar: invalid size for entry ${name}`, { field: name });
    if (name.length > limits.maxPathBytes) throw invalid(`tar: name longer than ${limits.maxPathBytes} bytes`, { field: name.slice(0, 80) });
    // Only regular files carry data; a size on anything else is skipped, as tar does for hardlinks.
    const dataSize = header.size;
    if (type !== 'file') header.size = 0;
    index++;
    let consumed = false;
    const padded = Math.ceil(dataSize / BLOCK) * BLOCK;
    const entryName = name;
    const body = async function* (): AsyncGenerator<Buffer> {
      if (consumed) return;
      consumed = true;
      let got = 0;
      if (type === 'file') {
        for await (const chunk of src.stream(dataSize)) {
          got += chunk.length;
          yield chunk;
        }
      } else {
        for await (const chunk of src.stream(dataSize)) got += chunk.length;
      }
      if (got < dataSize) throw truncated(`entry ${entryName}`);
      const pad = await src.read(padded - dataSize);
      if (pad.length < padded - dataSize) throw truncated(`padding of entry ${entryName}`);
    };
    yield { header, body };
    if (!consumed) for await (const _ of body()) void _;
  }
}

function truncated(what: string): BerthError {
  return new BerthError('data-loss', `tar: truncated ${what}`);
}
