// The StreamingBackend over berth's containers: exec runs the process through the container's
// runtime with pipes berthd holds (or a pty whose master berthd receives on a console socket),
// attach joins the monitor's attach socket, port-forward connects inside the pod's network
// namespace (berth-spawn --netns-connect) and splices the two sockets in this process.
import { closeSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import { BerthError, notFound } from '../../oci/errors.ts';
import type { Process } from '../../oci/runtime-spec.ts';
import type { ContainerService } from '../../containers/service.ts';
import { ConsoleReceiver } from '../../sys/console-receiver.ts';
import { pipe } from '../../sys/fd-passing.ts';
import { openPtyMaster } from '../../sys/pty-master.ts';
import { connectInNetns } from '../../sys/netns-connect.ts';
import type { AttachRequest, ExecRequest, ProcessStreams, StreamingBackend, TerminalSize } from './backend.ts';

import type { StreamingLookup } from './streaming-lookup.ts';

export interface ContainerBackendOptions {
  containers: ContainerService;
  lookup: StreamingLookup;
  /** How long a tty exec waits for the client's first terminal size before it starts (1 s). */
  firstSizeTimeoutMs?: number;
  /** How long output may still drain after the process exited (a child of it holding stdout: 2 s). */
  drainTimeoutMs?: number;
}

export class ContainerStreamingBackend implements StreamingBackend {
  private readonly firstSizeTimeoutMs: number;
  private readonly drainTimeoutMs: number;

  constructor(private readonly opts: ContainerBackendOptions) {
    this.firstSizeTimeoutMs = opts.firstSizeTimeoutMs ?? 1000;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 2000;
  }

  async exec(req: ExecRequest, streams: ProcessStreams, signal: AbortSignal): Promise<{ exitCode: number }> {
    const base = this.opts.containers.process(req.containerId);
    const process: Process = { ...structuredClone(base ?? { user: { uid: 0, gid: 0 }, cwd: '/' }), args: req.cmd, terminal: req.tty };
    delete process.consoleSize;
    if (req.tty) return { exitCode: await this.execTty(req.containerId, process, streams, signal) };
    return { exitCode: await this.execPipes(req.containerId, process, streams, signal) };
  }

  private async execPipes(id: string, process: Process, streams: ProcessStreams, signal: AbortSignal): Promise<number> {
    // [ours, the process's] per stream; the process's ends close once the exec settles, so
    // stdin's EOF reaches it (we never hold stdin's write end twice) and output drains to EOF.
    const made: number[] = [];
    const ends = (want: boolean, ourEnd: 0 | 1): { ours: number; theirs: number } | undefined => {
      if (!want) return undefined;
      const p = pipe();
      made.push(...p);
      return { ours: p[ourEnd], theirs: p[1 - ourEnd]! };
    };
    let stdin, stdout, stderr;
    try {
      stdin = ends(!!streams.stdin, 1);
      stdout = ends(true, 0);
      stderr = ends(true, 0);
    } catch (err) {
      for (const fd of made) closeSync(fd);
      throw err;
    }
    const input = stdin && new Socket({ fd: stdin.ours, readable: false, writable: true });
    const output = new Socket({ fd: stdout!.ours, readable: true, writable: false });
    const errors = new Socket({ fd: stderr!.ours, readable: true, writable: false });
    if (input && streams.stdin) relayInput(streams.stdin, input);
    const drained = Promise.all([relayOutput(output, streams.stdout), relayOutput(errors, streams.stderr)]);
    const theirs = [stdin?.theirs, stdout!.theirs, stderr!.theirs];
    try {
      return await this.opts.containers.exec(id, process, {
        stdio: [theirs[0] ?? 'ignore', theirs[1]!, theirs[2]!],
        signal,
      });
    } finally {
      for (const fd of theirs) if (fd !== undefined) closeSync(fd);
      input?.destroy();
      await withTimeout(drained, this.drainTimeoutMs);
      output.destroy();
      errors.destroy();
    }
  }

  private async execTty(id: string, process: Process, streams: ProcessStreams, signal: AbortSignal): Promise<number> {
    const sizes = streams.resize?.[Symbol.asyncIterator]();
    // Sized before it starts, as the client's terminal is: a first `stty size` is already right.
    const first = sizes ? await withTimeout(sizes.next(), this.firstSizeTimeoutMs) : undefined;
    if (first && !first.done) process.consoleSize = { width: first.value.width, height: first.value.height };
    const receiver = await ConsoleReceiver.listen();
    try {
      const exited = this.opts.containers.exec(id, process, { consoleSocket: receiver.socketPath, stdio: ['ignore', 'ignore', 'ignore'], signal });
      const master = await receiver.master(10_000, exited).catch(async (err: unknown) => {
        // The exec's own failure says more than the missing terminal.
        await exited;
        throw err;
      });
      receiver.close();
      const terminal = openPtyMaster(master);
      // Again on the master, in case the runtime did not apply process.consoleSize.
      if (process.consoleSize) terminal.resize(process.consoleSize);
      if (sizes) void applySizes(sizes, terminal.resize).catch(() => undefined); // a resize after the end
      if (streams.stdin) relayInput(streams.stdin, terminal.input, false);
      const drained = relayOutput(terminal.output, streams.stdout);
      try {
        const code = await exited;
        await withTimeout(drained, this.drainTimeoutMs);
        return code;
      } finally {
        terminal.close();
      }
    } finally {
      receiver.close();
    }
  }

  async attach(req: AttachRequest, streams: ProcessStreams, signal: AbortSignal): Promise<void> {
    let size: TerminalSize | undefined;
    const listeners = new Set<() => void>();
    if (req.tty && streams.resize) {
      void (async () => {
        for await (const s of streams.resize!) {
          size = s;
          for (const l of listeners) l();
        }
      })();
    }
    await this.opts.containers.attach(req.containerId, {
      ...(streams.stdin ? { stdin: streams.stdin } : {}),
      stdout: streams.stdout ?? sink(),
      stderr: streams.stderr ?? sink(),
      size: () => (size ? { rows: size.height, cols: size.width } : undefined),
      resizes: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      signal,
    });
  }

  async portForward(podSandboxId: string, port: number, socket: Duplex, signal: AbortSignal): Promise<void> {
    const pod = this.opts.lookup.pod(podSandboxId);
    if (!pod) throw notFound(`port forward: pod sandbox ${podSandboxId} not found`, { field: 'pod_sandbox_id' });
    const target = pod.netnsPath ? await connectInNetns(pod.netnsPath, port, { signal }) : await connectHost(port);
    await splice(socket, target, signal);
  }
}

/** Copies both ways with half-closes passed on; resolves when both directions have ended. */
function splice(client: Duplex, target: Socket, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const finish = (): void => {
      signal.removeEventListener('abort', abort);
      target.destroy();
      resolve();
    };
    const abort = (): void => finish();
    signal.addEventListener('abort', abort, { once: true });
    client.pipe(target);
    target.pipe(client);
    target.on('error', () => client.destroy());
    target.on('close', finish);
    client.on('close', () => target.destroy());
  });
}

/** A host-network pod: 127.0.0.1, else ::1, in berthd's own namespace. */
function connectHost(port: number): Promise<Socket> {
  const attempt = (host: string): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect(port, host);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  return attempt('127.0.0.1').catch(() =>
    attempt('::1').catch((err: Error) => {
      throw new BerthError('unavailable', `port forward: cannot connect to port ${port} on loopback: ${err.message}`, { op: 'connect' });
    }),
  );
}

async function applySizes(sizes: AsyncIterator<TerminalSize>, resize: (s: TerminalSize) => void): Promise<void> {
  for (let r = await sizes.next(); !r.done; r = await sizes.next()) resize(r.value);
}

function relayInput(from: Readable, to: Writable, end = true): void {
  to.on('error', () => undefined);
  from.pipe(to, { end });
}

/** Resolves once `from` has ended and everything went to `to` (written without ending it). */
function relayOutput(from: Readable, to: Writable | undefined): Promise<void> {
  return new Promise((resolve) => {
    from.on('error', () => resolve());
    from.on('end', () => resolve());
    from.on('close', () => resolve());
    if (to) from.pipe(to, { end: false });
    else from.resume();
  });
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function sink(): Writable {
  return { write: () => true, end: () => undefined, on: () => undefined } as unknown as Writable;
}
