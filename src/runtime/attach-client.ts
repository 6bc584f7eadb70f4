// The client side of a monitor's attach socket (native/attach.c): the container's output to our
// stdout/stderr, our stdin to the container, the terminal's size when it has one; and the
// monitor's control requests: reopening its log, watching for the exit. Frames are [type u8]
// [length u32 BE][payload]; 1 stdout, 2 stderr, 6 log reopened (errno u32), 8 exited (status u32,
// time u64 ns) from the monitor; 0 stdin, 3 end of stdin, 4 size (rows, cols as u16), 5 reopen
// the log, 7 no output to this client, to it.
import { closeSync, openSync, constants } from 'node:fs';
import { basename, dirname } from 'node:path';
import { connect, type Socket } from 'node:net';
import { BerthError } from '../oci/errors.ts';
import { errnoName } from '../sys/errno.ts';
import type { ExitWatch, MonitorExit } from './monitor.ts';

const HEADER = 5;
const FRAME_MAX = 65536;
export const FRAME = { stdin: 0, stdout: 1, stderr: 2, stdinEnd: 3, resize: 4, reopenLog: 5, logReopened: 6, quiet: 7, exit: 8 } as const;

export function frame(type: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(HEADER + payload.length);
  out[0] = type;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, HEADER);
  return out;
}

/** Splits a byte stream into frames as they complete. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Array<{ type: number; payload: Buffer }> {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Array<{ type: number; payload: Buffer }> = [];
    while (this.pending.length >= HEADER) {
      const len = this.pending.readUInt32BE(1);
      if (len > FRAME_MAX) throw new BerthError('data-loss', `attach: a frame of ${len} bytes is larger than ${FRAME_MAX}`);
      if (this.pending.length < HEADER + len) break;
      out.push({ type: this.pending[0]!, payload: this.pending.subarray(HEADER, HEADER + len) });
      this.pending = this.pending.subarray(HEADER + len);
    }
    return out;
  }
}

export interface AttachStreams {
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: NodeJS.WritableStream & { columns?: number; rows?: number; isTTY?: boolean; on?: NodeJS.WritableStream['on'] };
  stderr: NodeJS.WritableStream;
  /** The container has a terminal: put ours in raw mode and pass its size on. */
  tty?: boolean;
  /** Tells when our terminal's size changed (the CLI: SIGWINCH); returns its unsubscribe. */
  resizes?: (listener: () => void) => () => void;
  /** The terminal's size when it is not stdout's (berthd: the streaming client's last resize). */
  size?: () => { rows: number; cols: number } | undefined;
  /** Ends the attach (the container runs on): the caller went away. */
  signal?: AbortSignal;
}

/** A unix socket path of any length: long ones are reached through /proc/self/fd/<dir>. */
function connectUnix(path: string): { socket: Socket; done: () => void } {
  if (Buffer.byteLength(path) < 108) return { socket: connect({ path }), done: () => undefined };
  const dirfd = openSync(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY);
  let open = true;
  const done = (): void => {
    // Once: an error and the close after it both end a connection.
    if (open) closeSync(dirfd);
    open = false;
  };
  return { socket: connect({ path: `/proc/self/fd/${dirfd}/${basename(path)}` }), done };
}

/** Relays until the monitor closes the connection (the container ended) or stdin ends with no tty. */
export function attach(socketPath: string, io: AttachStreams): Promise<void> {
  return new Promise((resolve, reject) => {
    const { socket, done } = connectUnix(socketPath);
    const reader = new FrameReader();
    const raw = io.tty && io.stdin?.isTTY && io.stdin.setRawMode ? io.stdin : undefined;
    const sendSize = (): void => {
      const { rows, cols: columns } = io.size?.() ?? { rows: io.stdout.rows, cols: io.stdout.columns };
      if (!rows || !columns) return;
      const p = Buffer.alloc(4);
      p.writeUInt16BE(rows, 0);
      p.writeUInt16BE(columns, 2);
      socket.write(frame(FRAME.resize, p));
    };
    // On a terminal, ctrl-p ctrl-q detaches (docker's default keys); everything else is typed in.
    let ctrlP = false;
    const onData = (d: Buffer | string): void => {
      const bytes = typeof d === 'string' ? Buffer.from(d) : d;
      if (raw) {
        for (const b of bytes) {
          if (ctrlP && b === 0x11) {
            socket.end();
            return;
          }
          ctrlP = b === 0x10;
        }
      }
      socket.write(frame(FRAME.stdin, bytes));
    };
    const onEnd = (): void => void socket.write(frame(FRAME.stdinEnd, Buffer.alloc(0)));
    const onAbort = (): void => void socket.destroy();
    io.signal?.addEventListener('abort', onAbort, { once: true });
    if (io.signal?.aborted) socket.destroy();
    const cleanup = (): void => {
      io.signal?.removeEventListener('abort', onAbort);
      raw?.setRawMode?.(false);
      io.stdin?.off('data', onData);
      io.stdin?.off('end', onEnd);
      io.stdin?.pause();
      unsubscribe?.();
      done();
    };
    let unsubscribe: (() => void) | undefined;
    socket.on('connect', () => {
      raw?.setRawMode?.(true);
      if (io.tty) {
        sendSize();
        unsubscribe = io.resizes?.(sendSize);
      }
      io.stdin?.on('data', onData);
      io.stdin?.on('end', onEnd);
      io.stdin?.resume();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of reader.push(chunk)) {
          if (f.type === FRAME.stdout || f.type === FRAME.stderr) (f.type === FRAME.stderr ? io.stderr : io.stdout).write(f.payload);
        }
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    socket.on('error', (err) => {
      cleanup();
      reject(new BerthError('unavailable', `attach: ${err.message}`, { path: socketPath, op: 'connect' }));
    });
    socket.on('close', () => {
      cleanup();
      resolve();
    });
  });
}

/**
 * Asks the monitor to close its log file and open the path again: whoever rotates the log
 * renamed it away (the kubelet, then CRI ReopenContainerLog). Resolves once the monitor writes to
 * the new file.
 */
export function reopenLog(socketPath: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const { socket, done } = connectUnix(socketPath);
    const reader = new FrameReader();
    const where = { path: socketPath, op: 'reopen the log' };
    let settled = false;
    const finish = (err?: BerthError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      done();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new BerthError('unavailable', `the monitor did not reopen its log within ${timeoutMs} ms`, where)), timeoutMs);
    socket.on('connect', () => socket.write(frame(FRAME.reopenLog, Buffer.alloc(0))));
    socket.on('data', (chunk: Buffer) => {
      // Output frames come too (every client gets them): only the answer counts.
      for (const f of reader.push(chunk)) {
        if (f.type !== FRAME.logReopened) continue;
        const errno = f.payload.length === 4 ? f.payload.readUInt32BE(0) : -1;
        return finish(errno === 0 ? undefined : new BerthError('internal', `the monitor cannot reopen its log: ${errnoName(errno)}`, { ...where, errno: errnoName(errno) }));
      }
    });
    socket.on('error', (err) => finish(new BerthError('unavailable', `reopen the log: ${err.message}`, where)));
    socket.on('close', () => finish(new BerthError('unavailable', 'the monitor closed the connection before reopening its log', where)));
  });
}

/**
 * The monitor's announcement of the container's exit (frame 8), asking for no output (frame 7).
 * undefined when the monitor closes without it or cannot be reached: it is gone, and its exit
 * file (written before it closes) says the rest.
 */
export function watchExit(socketPath: string): ExitWatch {
  let release = (): void => {};
  const exit = new Promise<MonitorExit | undefined>((resolve) => {
    let conn: { socket: Socket; done: () => void };
    try {
      conn = connectUnix(socketPath);
    } catch {
      return resolve(undefined);
    }
    const { socket, done } = conn;
    const reader = new FrameReader();
    let settled = false;
    const finish = (value: MonitorExit | undefined): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      done();
      resolve(value);
    };
    release = () => finish(undefined);
    socket.on('connect', () => socket.write(frame(FRAME.quiet, Buffer.alloc(0))));
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of reader.push(chunk)) {
          if (f.type === FRAME.exit && f.payload.length === 12) return finish({ status: f.payload.readUInt32BE(0), time: f.payload.readBigUInt64BE(4) });
        }
      } catch {
        finish(undefined);
      }
    });
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
  });
  return { exit, release: () => release() };
}
