// Reads a container's CRI log as the monitor rotates it (path, path.1 ... path.N, newest first)
// in constant memory, whatever its size: forward through the files in order, the last N lines by
// reading backwards from the end, only the lines of a time range, and following new output
// across rotations until the writer is done. Any caller (berth logs, the CRI) iterates batches of
// whole lines:
//
//   for await (const lines of readLog(path, { rotated: 2, tail: 100, follow: true, ended })) ...
import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogLineJoiner, parseLogTime, parseRecord, recordKind, type LogLine, type LogStream } from './cri-log.ts';

export interface LogReadOptions {
  /** Rotated files there may be beside the live one: path.1 ... path.<rotated> (max-file - 1). */
  rotated?: number;
  /**
   * Only the last this many lines, by where each line ends (its F record; a line still unfinished
   * counts as ending at its last piece).
   */
  tail?: number;
  /** Only lines from this time on / up to this time (nanoseconds since the epoch). */
  since?: bigint;
  until?: bigint;
  /** Keep reading new output, across rotations, until `ended` says the writer is done. */
  follow?: boolean;
  /** True once nothing more will be written (the monitor's exit file exists, or it died). */
  ended?: () => boolean;
  signal?: AbortSignal;
  pollMs?: number;
  /** Lines longer than this come out in pieces marked partial (memory stays bounded). */
  maxLine?: number;
}

interface LogFile {
  /** The name it was opened by (it may have been renamed since). */
  name: string;
  fh: FileHandle;
  ino: number;
  size: number;
  /** Where its first byte is in the sequence of all files (positions order records across files). */
  base: number;
}

const CHUNK = 256 * 1024;
/** A record longer than this is not one (the monitor writes at most ~64 KiB per record). */
const MAX_RECORD = 4 << 20;
const NEWLINE = 0x0a;

/** Batches of whole lines, oldest first; see LogReadOptions. */
export async function* readLog(path: string, opts: LogReadOptions = {}): AsyncGenerator<LogLine[]> {
  const rotated = opts.rotated ?? 0;
  const handles = new Set<FileHandle>();
  const close = async (f: LogFile): Promise<void> => {
    handles.delete(f.fh);
    await f.fh.close().catch(() => undefined);
  };
  try {
    let files = await openFiles(path, rotated, handles);
    // Not there yet: the monitor opens it once the container exists.
    while (!files.length && opts.follow && !opts.ended?.()) {
      if (!(await pause(opts))) return;
      files = await openFiles(path, rotated, handles);
    }
    if (!files.length) return;
    const start = await startOf(files, opts);
    const filter = new LineFilter(opts, start.skipBefore);
    const buf = Buffer.alloc(CHUNK);
    // Without --follow, what the files held when we opened them: a busy writer cannot keep us reading.
    const limit = (f: LogFile): number | undefined => (opts.follow ? undefined : f.size);
    for (const f of files.slice(0, start.file)) await close(f);
    let cursor = new Cursor(files[start.file]!, start.offset, buf, limit(files[start.file]!));
    for (const next of files.slice(start.file + 1)) {
      for await (const lines of cursor.readToEnd(filter)) yield lines;
      if (filter.done) return;
      await close(cursor.file);
      cursor = new Cursor(next, 0, buf, limit(next));
    }
    // Following: new output lands in the live file until the monitor rotates it away.
    let ended = false;
    while (!filter.done) {
      for await (const lines of cursor.readToEnd(filter)) yield lines;
      if (!opts.follow) break;
      if (cursor.readLastPass) continue;
      const next = await successor(path, rotated, cursor.file, handles);
      if (next) {
        // Everything written before the rename is there: read it, then go on in the next file.
        for await (const lines of cursor.readToEnd(filter)) yield lines;
        await close(cursor.file);
        next.base = cursor.file.base + cursor.offset;
        cursor = new Cursor(next, 0, buf);
        continue;
      }
      // The writer finishes after its last line: one more look, then the end.
      if (ended) break;
      if (opts.ended?.()) ended = true;
      else if (!(await pause(opts))) break;
    }
    const last = filter.flush();
    if (last.length) yield last;
  } finally {
    await Promise.all([...handles].map((fh) => fh.close().catch(() => undefined)));
  }
}

async function pause(opts: LogReadOptions): Promise<boolean> {
  try {
    await sleep(opts.pollMs ?? 100, undefined, { signal: opts.signal });
    return true;
  } catch {
    return false; // aborted
  }
}

/**
 * The log's files, oldest first, each open. The names shift while the monitor rotates, so a listing
 * taken meanwhile can be out of order: it counts only if the live file is still the one it opened
 * (every rotation replaces it), else it is taken again.
 */
async function openFiles(path: string, rotated: number, handles: Set<FileHandle>): Promise<LogFile[]> {
  for (let attempt = 0; ; attempt++) {
    const files = await openNames(path, rotated, handles);
    const live = files.at(-1)?.name === path ? files.at(-1)!.ino : undefined;
    const now = await stat(path).then((st) => st.ino, () => undefined);
    if ((live !== undefined && now === live) || (live === undefined && now === undefined) || attempt >= 20) return files;
    for (const f of files) {
      handles.delete(f.fh);
      await f.fh.close();
    }
    await sleep(attempt < 5 ? 0 : 5);
  }
}

async function openNames(path: string, rotated: number, handles: Set<FileHandle>): Promise<LogFile[]> {
  const out: LogFile[] = [];
  const seen = new Set<number>();
  for (let i = 0; i <= rotated; i++) {
    const name = i === 0 ? path : `${path}.${i}`;
    let fh: FileHandle;
    try {
      fh = await open(name, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // not rotated that often yet, or mid-rotation
      throw err;
    }
    handles.add(fh);
    const st = await fh.stat();
    if (seen.has(st.ino)) {
      handles.delete(fh);
      await fh.close();
      continue;
    }
    seen.add(st.ino);
    out.push({ fh, ino: st.ino, size: st.size, base: 0, name });
  }
  out.reverse();
  let base = 0;
  for (const f of out) {
    f.base = base;
    base += f.size;
  }
  return out;
}

/** After `current` was rotated away: the file that came after it, open; undefined while it has not been. */
async function successor(path: string, rotated: number, current: LogFile, handles: Set<FileHandle>): Promise<LogFile | undefined> {
  try {
    if ((await stat(path)).ino === current.ino) return undefined;
  } catch {
    return undefined; // renamed, not yet reopened: look again later
  }
  const files = await openFiles(path, rotated, handles);
  const i = files.findIndex((f) => f.ino === current.ino);
  // Not there any more: it fell off the end while we were slow; go on with the oldest there is.
  const next = i >= 0 ? files[i + 1] : files[0];
  for (const f of files.filter((f) => f !== next)) {
    handles.delete(f.fh);
    await f.fh.close();
  }
  return next;
}

interface Start {
  file: number;
  offset: number;
  /** Per stream: records before this position belong to lines left out (by --tail). */
  skipBefore: Record<LogStream, number>;
}

async function startOf(files: LogFile[], opts: LogReadOptions): Promise<Start> {
  if (opts.tail !== undefined) return tailStart(files, opts.tail);
  const first = opts.since !== undefined ? await firstFileSince(files, opts.since) : 0;
  const skipBefore = { stdout: 0, stderr: 0 };
  // Every file ends before --since: only what comes next (with --follow) is wanted.
  if (first >= files.length) return { file: files.length - 1, offset: files.at(-1)!.size, skipBefore };
  return { file: first, offset: 0, skipBefore };
}

/**
 * Where the last `n` lines begin, found by reading records backwards from the end. Lines of the two
 * streams interleave and a line may span many records (P ... F), so per stream: walking back, an F
 * record ends a line, which is one of the last n while fewer have been counted; the records of a
 * counted line go back to the stream's previous F. The walk stops once n lines are counted and
 * every counted line's first record is found, so it reads about as much as it prints.
 */
async function tailStart(files: LogFile[], n: number): Promise<Start> {
  const end = files.reduce((sum, f) => sum + f.size, 0);
  const state: Record<LogStream, 'unseen' | 'counting' | 'done'> = { stdout: 'unseen', stderr: 'unseen' };
  const first: Partial<Record<LogStream, number>> = {};
  let counted = 0;
  scan: for (let i = files.length - 1; i >= 0 && n > 0; i--) {
    for await (const [line, offset] of recordsBackward(files[i]!)) {
      const k = recordKind(line);
      if (!k || state[k.stream] === 'done') continue;
      const pos = files[i]!.base + offset;
      // A P record of a stream not seen yet is its line still unfinished at the end: a line too.
      const startsLine = !k.partial || state[k.stream] === 'unseen';
      if (startsLine) {
        if (counted < n) {
          counted++;
          state[k.stream] = 'counting';
        } else state[k.stream] = 'done';
      }
      if (state[k.stream] === 'counting') first[k.stream] = pos;
      if (counted >= n && state.stdout !== 'counting' && state.stderr !== 'counting') break scan;
    }
  }
  // Not found in the walk: a stream seen only in lines left out skips up to the end; one never
  // seen has nothing after the start.
  const skip = (s: LogStream): number => first[s] ?? (state[s] === 'done' || n <= 0 ? end : 0);
  const skipBefore = { stdout: skip('stdout'), stderr: skip('stderr') };
  const from = Math.min(first.stdout ?? end, first.stderr ?? end);
  const file = files.findIndex((f) => from < f.base + f.size);
  if (file < 0) return { file: files.length - 1, offset: files.at(-1)!.size, skipBefore };
  return { file, offset: from - files[file]!.base, skipBefore };
}

/** The first file that may hold lines from `since` on: files before it end earlier. */
async function firstFileSince(files: LogFile[], since: bigint): Promise<number> {
  for (let i = files.length - 1; i >= 0; i--) {
    for await (const [line] of recordsBackward(files[i]!)) {
      const r = parseRecord(line);
      if (!r) continue;
      const t = parseLogTime(r.time);
      if (t !== undefined && t < since) return i + 1;
      break;
    }
  }
  return 0;
}

/**
 * The complete records of a file, last first, with their offsets (a last record still being
 * written, without its newline, is left out). Reads blocks backwards; memory is one block plus one
 * record.
 */
async function* recordsBackward(f: LogFile): AsyncGenerator<[Buffer, number]> {
  let pos = f.size;
  let rest = Buffer.alloc(0); // [pos, pos + rest.length): the start of a line that began before pos
  let atEnd = true;
  while (pos > 0) {
    const from = Math.max(0, pos - CHUNK);
    const block = Buffer.alloc(pos - from);
    await readFully(f.fh, block, from);
    const buf = rest.length ? Buffer.concat([block, rest]) : block;
    let end = buf.length;
    if (atEnd) {
      end = buf.lastIndexOf(NEWLINE) + 1;
      if (end > 0) atEnd = false;
    }
    for (let nl = lastNewline(buf, end - 2); nl >= 0; nl = lastNewline(buf, nl - 1)) {
      yield [buf.subarray(nl + 1, end - 1), from + nl + 1];
      end = nl + 1;
    }
    if (from === 0) {
      if (end > 0) yield [buf.subarray(0, end - 1), 0];
      return;
    }
    rest = end > MAX_RECORD ? Buffer.alloc(0) : Buffer.from(buf.subarray(0, end));
    pos = from;
  }
}

function lastNewline(buf: Buffer, from: number): number {
  return from < 0 ? -1 : buf.lastIndexOf(NEWLINE, from);
}

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** Joins records into lines and keeps those asked for: after --tail's cut, in --since/--until. */
class LineFilter {
  private readonly joiner: LogLineJoiner;
  /** Past --until: no line that began in time can come any more. */
  done = false;
  private pastUntil = false;

  constructor(
    private readonly opts: LogReadOptions,
    private readonly skipBefore: Record<LogStream, number>,
  ) {
    this.joiner = new LogLineJoiner(opts.maxLine);
  }

  add(line: Buffer, pos: number, out: LogLine[]): void {
    const r = parseRecord(line);
    if (!r || pos < this.skipBefore[r.stream]) return;
    const whole = this.joiner.add(r);
    if (whole) this.keep(whole, out);
    const { until } = this.opts;
    if (until === undefined) return;
    this.pastUntil ||= (parseLogTime(r.time) ?? 0n) > until;
    // Lines are kept by the time they began: one begun before --until may still end later.
    this.done = this.pastUntil && this.joiner.openTimes().every((t) => (parseLogTime(t) ?? 0n) > until);
  }

  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const l of this.joiner.flush()) this.keep(l, out);
    return out;
  }

  private keep(l: LogLine, out: LogLine[]): void {
    const { since, until } = this.opts;
    if (since !== undefined || until !== undefined) {
      const t = parseLogTime(l.time);
      if (t !== undefined && ((until !== undefined && t > until) || (since !== undefined && t < since))) return;
    }
    out.push(l);
  }
}

/** A position in one file; splits what it reads into records, keeping an unfinished one for later. */
class Cursor {
  private carry = Buffer.alloc(0);
  /** Bytes the last readToEnd found. */
  readLastPass = 0;

  constructor(
    readonly file: LogFile,
    public offset: number,
    /** Reused between reads: nothing kept refers to it (the joiner copies what it holds). */
    private readonly buf: Buffer,
    /** Read no further than this offset. */
    private readonly limit = Infinity,
  ) {}

  /** Batches of lines from what the file holds now, up to its end. */
  async *readToEnd(filter: LineFilter): AsyncGenerator<LogLine[]> {
    this.readLastPass = 0;
    while (!filter.done) {
      const want = Math.min(this.buf.length, this.limit - this.offset);
      if (want <= 0) return;
      const { bytesRead } = await this.file.fh.read(this.buf, 0, want, this.offset);
      if (bytesRead === 0) return;
      const data = this.buf.subarray(0, bytesRead);
      const dataPos = this.file.base + this.offset;
      this.offset += bytesRead;
      this.readLastPass += bytesRead;
      const lines: LogLine[] = [];
      let start = 0;
      if (this.carry.length) {
        // The record begun in the last read ends in this one.
        const nl = data.indexOf(NEWLINE);
        if (nl < 0) {
          this.carry = this.carry.length + data.length > MAX_RECORD ? Buffer.alloc(0) : Buffer.concat([this.carry, data]);
          continue;
        }
        filter.add(Buffer.concat([this.carry, data.subarray(0, nl)]), dataPos - this.carry.length, lines);
        this.carry = Buffer.alloc(0);
        start = nl + 1;
      }
      for (let nl = data.indexOf(NEWLINE, start); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
        filter.add(data.subarray(start, nl), dataPos + start, lines);
        start = nl + 1;
      }
      if (start < data.length) this.carry = Buffer.from(data.subarray(start));
      if (lines.length) yield lines;
    }
  }
}
