// The CRI socket: a unix socket only root can connect to (created 0600, under a 0700 directory
// when berthd has to create that). An existing socket is probed first: one that answers belongs to
// a live daemon and berthd refuses to start; one that refuses connections is a stale leftover of a
// daemon that died, and is replaced. Any other kind of file at the path is never touched.
import { lstatSync, mkdirSync, chmodSync, unlinkSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { BerthError, fromSystemError } from '../../oci/errors.ts';

export const SOCKET_MODE = 0o600;
const PROBE_TIMEOUT_MS = 2000;

/** Whether something accepts connections on the socket at `path`. */
export function socketAnswers(path: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const timer = setTimeout(() => {
      // Accepted by the kernel's backlog but never served: still someone's socket.
      s.destroy();
      resolve(true);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

function bind(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    // The socket file takes its mode from the umask at bind(2): no moment where others may connect.
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
}

export interface UnixListener {
  server: Server;
  path: string;
  /** Stops accepting and removes the socket file; resolves once every connection has ended. */
  close(): Promise<void>;
  /** Ends the connections still open (after a shutdown's grace period). */
  destroyConnections(): void;
}

export async function listenUnix(path: string, onConnection: (socket: Socket) => void): Promise<UnixListener> {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fromSystemError(err, 'mkdir', dirname(path));
  }
  const existing = lstatOrUndefined(path);
  if (existing && !existing.isSocket()) {
    throw new BerthError('already-exists', `${path} exists and is not a socket; not replacing it`, { path, field: 'listen' });
  }
  if (existing) {
    if (await socketAnswers(path)) {
      throw new BerthError('already-exists', `another process (a running berthd?) is serving ${path}`, { path, field: 'listen' });
    }
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, 'remove stale socket', path);
    }
  }
  const connections = new Set<Socket>();
  const server = createServer((socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    onConnection(socket);
  });
  try {
    await bind(server, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      // Another daemon bound it between our probe and our bind.
      throw new BerthError('already-exists', `another process bound ${path} while berthd was starting`, { path, field: 'listen' });
    }
    throw fromSystemError(err, 'listen', path);
  }
  chmodSync(path, SOCKET_MODE);
  const { ino, dev } = statSync(path);
  return {
    server,
    path,
    destroyConnections: () => {
      for (const s of connections) s.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        const now = lstatOrUndefined(path);
        // Node unlinks a pipe it listened on when it closes; make sure, but never someone else's.
        if (now && now.ino === ino && now.dev === dev) {
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
        }
      }),
  };
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromSystemError(err, 'lstat', path);
  }
}
