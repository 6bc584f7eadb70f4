// The frames berth-vm speaks with its monitor (native/vm-frame.h): u32 type, u32 session,
// u32 length, payload, all little endian. The codec is pure; FrameChannel reads them off a socket.

import type { Socket } from 'node:net';

export const F = {
  PLAN: 1, ACK: 2, STDIN: 3, STDIN_EOF: 4, KILL: 5, KILL_ALL: 6, WRITE: 7, PS: 8, RESIZE: 9, NET: 10,
  READY: 20, CHAN: 21, STDOUT: 22, STDERR: 23, EXIT: 24, REPLY: 25,
  STDIO: 40, CONSOLE: 41, PAUSE: 42, RESUME: 43, DONE: 44, CONFIG: 45,
} as const;

export interface Frame {
  type: number;
  session: number;
  data: Buffer;
}

export function encodeFrame(type: number, session: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(session, 4);
  head.writeUInt32LE(data.length, 8);
  return Buffer.concat([head, data]);
}

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
};

/** Whole frames off the front of `buf`, and what is left. */
export function decodeFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let off = 0;
  while (buf.length - off >= 12) {
    const len = buf.readUInt32LE(off + 8);
    if (buf.length - off < 12 + len) break;
    frames.push({ type: buf.readUInt32LE(off), session: buf.readUInt32LE(off + 4), data: buf.subarray(off + 12, off + 12 + len) });
    off += 12 + len;
  }
  return { frames, rest: buf.subarray(off) };
}

/** NUL-separated key, value pairs: the monitor's F_CONFIG payload. */
export function encodeConfig(pairs: ReadonlyArray<readonly [string, string]>): Buffer {
  for (const [k, v] of pairs) if (k.includes('\0') || v.includes('\0')) throw new RangeError(`config: ${k} holds a NUL byte`);
  return Buffer.from(pairs.map(([k, v]) => `${k}\0${v}\0`).join(''));
}

/** Frames from a socket, one at a time; `null` once the socket has ended. */
export class FrameChannel {
  private buf = Buffer.alloc(0);
  private readonly queue: Frame[] = [];
  private waiter: ((f: Frame | null) => void) | null = null;
  private ended = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const { frames, rest } = decodeFrames(Buffer.concat([this.buf, chunk]));
      this.buf = Buffer.from(rest);
      for (const f of frames) this.push(f);
    });
    const end = (): void => {
      if (this.ended) return;
      this.ended = true;
      this.push(null);
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  private push(f: Frame | null): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(f);
    } else if (f) this.queue.push(f);
  }

  next(): Promise<Frame | null> {
    const f = this.queue.shift();
    if (f) return Promise.resolve(f);
    if (this.ended) return Promise.resolve(null);
    return new Promise((res) => (this.waiter = res));
  }

  send(type: number, session = 0, data?: Uint8Array): void {
    this.socket.write(encodeFrame(type, session, data));
  }
}
