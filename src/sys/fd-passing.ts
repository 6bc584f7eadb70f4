// File descriptors across processes, which Node cannot do itself: pipes and a unix socketpair to
// hand to a child, recvmsg(2) of one fd sent with SCM_RIGHTS, poll(2) off the event loop, and a
// terminal's size (TIOCSWINSZ). The structs are laid out by hand: msghdr, iovec and cmsghdr as on 64-bit Linux.
import koffi from 'koffi';
import { closeSync } from 'node:fs';
import { BerthError, unimplemented } from '../oci/errors.ts';
import { errnoError, errnoName, lastErrno, libc } from './libc.ts';

const pipe2C = libc.func('int pipe2(_Out_ int *fds, int flags)');
const socketpairC = libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)');
const recvmsgC = libc.func('long recvmsg(int fd, void *msg, int flags)');
const pollC = libc.func('int poll(void *fds, unsigned long nfds, int timeout)');
const ioctlC = libc.func('int ioctl(int fd, unsigned long request, ...)');

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const O_CLOEXEC = 0o2000000;
const SOCK_CLOEXEC = O_CLOEXEC;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x40000000;
const POLLIN = 1;
const TIOCSWINSZ = 0x5414;
const EAGAIN = 11;
const EINTR = 4;

const address = (buf: Buffer): bigint => BigInt(koffi.address(buf) as bigint | number);

function require64(op: string): void {
  if (process.arch !== 'x64' && process.arch !== 'arm64') throw unimplemented(`${op}: struct layouts are written for x64 and arm64, not ${process.arch}`, { op });
}

/** A pipe, close-on-exec: [read end, write end]. */
export function pipe(): [number, number] {
  const fds = [0, 0];
  if (pipe2C(fds, O_CLOEXEC) !== 0) throw errnoError('pipe2');
  return [fds[0]!, fds[1]!];
}

/** Two connected unix stream sockets, close-on-exec (a child gets one only by being given it). */
export function unixSocketPair(): [number, number] {
  const sv = [0, 0];
  if (socketpairC(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) !== 0) throw errnoError('socketpair');
  return [sv[0]!, sv[1]!];
}

export interface FdMessage {
  /** The message's bytes. */
  data: Buffer;
  /** The fd that came with it (close-on-exec), if one did. */
  fd?: number;
}

/**
 * One message from a unix socket with at most one fd attached, without blocking: undefined when
 * nothing is queued yet. The sender may have exited: what it sent stays queued. Extra fds a
 * misbehaving sender attached are closed.
 */
export function receiveFd(sock: number, maxBytes = 256): FdMessage | undefined {
  require64('recvmsg');
  const data = Buffer.alloc(maxBytes);
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(address(data), 0);
  iov.writeBigUInt64LE(BigInt(maxBytes), 8);
  const control = Buffer.alloc(64); // room for a cmsghdr with up to 12 fds
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(address(iov), 16); // msg_iov
  msg.writeBigUInt64LE(1n, 24); // msg_iovlen
  msg.writeBigUInt64LE(address(control), 32); // msg_control
  msg.writeBigUInt64LE(BigInt(control.length), 40); // msg_controllen
  let n: number;
  do n = Number(recvmsgC(sock, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
  while (n < 0 && lastErrno() === EINTR);
  if (n < 0) {
    if (lastErrno() === EAGAIN) return undefined;
    throw errnoError('recvmsg');
  }
  const controlLen = Number(msg.readBigUInt64LE(40));
  const fds: number[] = [];
  for (let off = 0; off + 16 <= controlLen; ) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < 16) break;
    if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let p = off + 16; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p));
    }
    off += (len + 7) & ~7;
  }
  for (const extra of fds.slice(1)) closeSync(extra);
  return { data: data.subarray(0, n), ...(fds.length ? { fd: fds[0] } : {}) };
}

/** Resolves when `fd` is readable (or hung up), polling on a worker thread; false on timeout. */
export function whenReadable(fd: number, timeoutMs: number): Promise<boolean> {
  const fds = Buffer.alloc(8);
  fds.writeInt32LE(fd, 0);
  fds.writeInt16LE(POLLIN, 4);
  return new Promise((resolve, reject) => {
    pollC.async(fds, 1, timeoutMs, (err: unknown, r: number) => {
      if (err) return reject(err as Error);
      if (r < 0) return reject(new BerthError('internal', `poll: ${errnoName(lastErrno())}`, { op: 'poll' }));
      resolve(r > 0);
    });
  });
}

/** Sets a terminal's size (the pty master's): the process on it gets SIGWINCH. */
export function setTerminalSize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  if (ioctlC(fd, TIOCSWINSZ, 'void *', ws) !== 0) throw errnoError('ioctl(TIOCSWINSZ)');
}
