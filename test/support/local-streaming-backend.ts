// A StreamingBackend for tests that runs real local processes instead of containers: exec runs
// `cmd` on this machine (on a pseudo-terminal through pty-run.py with a tty), attach runs the
// command registered for the container id, port-forward connects to 127.0.0.1:<port>.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { AttachRequest, ExecRequest, ProcessStreams, StreamingBackend, TerminalSize } from '../../src/cri/streaming/backend.ts';

const PTY_RUN = fileURLToPath(new URL('./pty-run.py', import.meta.url));

export interface BackendLog {
  execs: number;
  aborted: string[];
  resizes: TerminalSize[];
}

export class LocalProcessBackend implements StreamingBackend {
  readonly log: BackendLog = { execs: 0, aborted: [], resizes: [] };
  /** attach: containerId -> the command its "main process" runs. */
  readonly containers = new Map<string, string[]>();

  async exec(req: ExecRequest, streams: ProcessStreams, signal: AbortSignal): Promise<{ exitCode: number }> {
    this.log.execs++;
    return { exitCode: await this.run(req.containerId, req.cmd, req.tty, streams, signal) };
  }

  async attach(req: AttachRequest, streams: ProcessStreams, signal: AbortSignal): Promise<void> {
    const cmd = this.containers.get(req.containerId);
    if (!cmd) throw new Error(`container ${req.containerId} not found`);
    await this.run(req.containerId, cmd, req.tty, streams, signal);
  }

  portForward(_pod: string, port: number, socket: Duplex, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const target = connect(port, '127.0.0.1');
      const onAbort = (): void => void target.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      target.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      });
      target.on('connect', () => {
        socket.pipe(target);
        target.pipe(socket);
      });
      target.on('close', (hadError) => {
        signal.removeEventListener('abort', onAbort);
        if (!hadError) resolve();
      });
    });
  }

  private async run(id: string, cmd: string[], tty: boolean, streams: ProcessStreams, signal: AbortSignal): Promise<number> {
    const sizes = tty && streams.resize ? streams.resize[Symbol.asyncIterator]() : undefined;
    let argv = cmd;
    if (tty) {
      // The terminal starts at the client's first size, as a runtime would size it before start.
      const first = sizes ? await Promise.race([sizes.next(), new Promise<IteratorResult<TerminalSize>>((r) => setTimeout(() => r({ done: true, value: undefined }), 2000))]) : undefined;
      const size = first && !first.done ? first.value : { width: 80, height: 24 };
      this.log.resizes.push(size);
      argv = ['python3', PTY_RUN, String(size.height), String(size.width), ...cmd];
    }
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const onAbort = (): void => {
      this.log.aborted.push(id);
      child.kill('SIGKILL');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    relayInput(streams.stdin, child.stdin!);
    relayOutput(child.stdout!, streams.stdout);
    relayOutput(child.stderr!, tty ? streams.stdout : streams.stderr);
    const control = child.stdio[3] as Writable;
    control.on('error', () => undefined);
    if (sizes) {
      void (async () => {
        for (let r = await sizes.next(); !r.done; r = await sizes.next()) {
          this.log.resizes.push(r.value);
          control.write(`${r.value.height} ${r.value.width}\n`);
        }
      })();
    }
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, sig) => resolve(c ?? 128 + (sig === 'SIGKILL' ? 9 : 15)));
    });
    signal.removeEventListener('abort', onAbort);
    control.destroy();
    return code;
  }
}

function relayInput(from: Readable | undefined, to: Writable): void {
  to.on('error', () => undefined);
  if (!from) return void to.end();
  from.pipe(to);
}

function relayOutput(from: Readable, to: Writable | undefined): void {
  if (!to) return void from.resume();
  from.pipe(to, { end: false });
}
