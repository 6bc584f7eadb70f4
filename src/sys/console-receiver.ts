// The receiving end of the console-socket protocol (runc's --console-socket) inside this process:
// a unix socket the runtime connects to and sends the pty master over with SCM_RIGHTS. berthd
// keeps the master itself (to write, read and resize it) rather than handing it to a relay.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../oci/errors.ts';
import { receiveFd, whenReadable } from './fd-passing.ts';

export class ConsoleReceiver {
  private constructor(
    readonly socketPath: string,
    private readonly dir: string,
    private readonly server: Server,
    private readonly connection: Promise<Socket>,
  ) {}

  static async listen(): Promise<ConsoleReceiver> {
    const dir = mkdtempSync(join(tmpdir(), 'berth-console-'));
    const socketPath = join(dir, 'console.sock');
    // Paused: the message must stay queued for recvmsg, not be read (and its fd lost) by libuv.
    const server = createServer({ pauseOnConnect: true });
    const connection = new Promise<Socket>((resolve) => server.once('connection', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => resolve());
      });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw new BerthError('internal', `console socket ${socketPath}: ${(err as Error).message}`, { path: socketPath, op: 'listen' });
    }
    return new ConsoleReceiver(socketPath, dir, server, connection);
  }

  /**
   * The pty master, once the runtime has sent it: a close-on-exec fd that is the caller's to close.
   * Rejects after `timeoutMs` or when `failed` settles first (the exec failed before connecting).
   */
  async master(timeoutMs: number, failed: Promise<unknown>): Promise<number> {
    const where = { path: this.socketPath, op: 'receive the console' };
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BerthError('internal', `the runtime did not send the terminal within ${timeoutMs} ms`, where)), timeoutMs);
      failed.then(
        () => reject(new BerthError('internal', 'the process ended before the runtime sent its terminal', where)),
        (err: unknown) => reject(err),
      );
    });
    try {
      const socket = await Promise.race([this.connection, gaveUp]);
      const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (fd === undefined || fd < 0) throw new BerthError('internal', 'the console connection has no file descriptor', where);
      for (;;) {
        const msg = receiveFd(fd, 4096);
        if (msg) {
          socket.destroy();
          if (msg.fd === undefined) throw new BerthError('internal', 'the runtime connected to the console socket but sent no terminal', where);
          return msg.fd;
        }
        await Promise.race([whenReadable(fd, timeoutMs), gaveUp]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.server.close();
    void this.connection.then((s) => s.destroy());
    rmSync(this.dir, { recursive: true, force: true });
  }
}
