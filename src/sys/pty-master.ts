// A pty master fd as Node streams: what the process on the terminal writes, what is typed into it,
// and its size. One libuv tty handle does both directions (two handles on one fd would collide in
// epoll). Once the last slave fd closes (the process and its children are gone) reads fail with
// EIO: that is the terminal's end, not an error.
import { ReadStream } from 'node:tty';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { setTerminalSize } from './fd-passing.ts';

export interface PtyMaster {
  output: Readable;
  input: Writable;
  resize(size: { width: number; height: number }): void;
  close(): void;
}

export function openPtyMaster(fd: number): PtyMaster {
  const tty = new ReadStream(fd);
  const output = new PassThrough();
  let closed = false;
  tty.on('data', (d: Buffer) => {
    if (!output.write(d)) {
      tty.pause();
      output.once('drain', () => tty.resume());
    }
  });
  tty.on('end', () => output.end());
  tty.on('error', () => output.end()); // EIO: the slave side closed
  return {
    output,
    input: tty,
    resize: ({ width, height }) => {
      if (!closed) setTerminalSize(fd, height, width);
    },
    close: () => {
      if (closed) return;
      closed = true;
      tty.destroy();
      output.end();
    },
  };
}
