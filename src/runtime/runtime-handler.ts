// One interface over "the low-level runtime that runs this container": berth's own, in this
// process, or any program with runc's command line (runc, crun, runsc, berth-runtime itself),
// each with its own state root. `berth run --runtime` picks one per container; the CRI's
// RuntimeClass handlers pick the same way. Every call is asynchronous: nothing here blocks the
// event loop (berthd serves many containers from one process).
import { execFile, spawn, type StdioOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, unimplemented } from '../oci/errors.ts';
import type { ContainerStatus, Process, Spec } from '../oci/runtime-spec.ts';
import type { StdioEntry } from '../sys/berth-spawn.ts';
import { signalQuietly } from '../sys/proc.ts';
import { Runtime } from './container.ts';
import { startMonitored, type MonitorSettings, type Monitored } from './monitor.ts';
import { exitStatus, type SignalSource } from './signals.ts';

export type StdinMode = 'inherit' | 'none';

export interface HandlerExecOptions {
  detach?: boolean;
  stdin?: StdinMode;
  /** stdout and stderr: the caller's, or /dev/null (a detached exec). */
  output?: 'inherit' | 'none';
  /** stdin, stdout and stderr when they are neither the caller's nor /dev/null (berthd's pipes). */
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
  /** The caller's signals, passed on while the process runs in the foreground. */
  signals?: SignalSource;
  /** With `process.terminal`: where the runtime sends the pty master (the console-socket protocol). */
  consoleSocket?: string;
  /** Kills the process when it aborts (berthd: the streaming client went away). */
  signal?: AbortSignal;
}

export interface HandlerRunOptions {
  stdin?: StdinMode;
  /** The container's state stays after it exits (`run --keep`). */
  keep?: boolean;
  signals?: SignalSource;
}

/** A container to create under a monitor, which supervises it from then on. */
export interface MonitoredCreate {
  id: string;
  /** The bundle: config.json is already written there (other runtimes read it). */
  bundle: string;
  spec: Spec;
  /** Where the container's init pid is written. */
  pidFile: string;
  monitor: Omit<MonitorSettings, 'terminal'>;
  signal?: AbortSignal;
}

export interface RuntimeHandler {
  /** 'berth' or the runtime's program name (runc, crun...). */
  readonly name: string;
  /** Creates the container under a monitor (not started). */
  createMonitored(req: MonitoredCreate): Promise<Monitored>;
  exists(id: string): Promise<boolean>;
  status(id: string): Promise<ContainerStatus>;
  start(id: string): Promise<void>;
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  delete(id: string, force?: boolean): Promise<void>;
  /** Runs another process in the container; its exit status (0 at once with `detach`). */
  exec(id: string, process: Process, opts?: HandlerExecOptions): Promise<number>;
  /** create + start in the foreground; the container's exit status. */
  run(id: string, bundle: string, opts: HandlerRunOptions): Promise<number>;
  /** Whether the kernel's OOM killer killed a process of the container (false when unknown). */
  oomKilled(id: string): Promise<boolean>;
}

/** berth's own runtime, in this process: a monitor runs its plan, no other program starts. */
export class BerthRuntimeHandler implements RuntimeHandler {
  readonly name = 'berth';

  constructor(readonly runtime: Runtime) {}

  async createMonitored(req: MonitoredCreate): Promise<Monitored> {
    const handle = await this.runtime.create({ id: req.id, bundle: req.bundle, spec: req.spec, pidFile: req.pidFile, monitor: req.monitor, signal: req.signal });
    const exit = handle.wait().then((e) => (e && e.time !== undefined ? { status: e.status, time: e.time } : undefined));
    return {
      pid: handle.pid,
      monitor: { pid: handle.monitor!.pid, startTime: handle.monitor!.startTime, bound: handle.monitor!.bound },
      ...(handle.monitor?.unbound !== undefined ? { unbound: handle.monitor.unbound } : {}),
      watch: { exit, release: () => handle.release() },
    };
  }

  async exists(id: string): Promise<boolean> {
    return this.runtime.store.exists(id);
  }

  async status(id: string): Promise<ContainerStatus> {
    return this.runtime.state(id).status;
  }

  start(id: string): Promise<void> {
    return this.runtime.start(id);
  }

  kill(id: string, signal: string, all = false): Promise<void> {
    return this.runtime.kill(id, signal, all);
  }

  delete(id: string, force = false): Promise<void> {
    return this.runtime.delete(id, force);
  }

  exec(id: string, process: Process, opts: HandlerExecOptions = {}): Promise<number> {
    return this.runtime.exec(id, process, opts);
  }

  run(id: string, bundle: string, opts: HandlerRunOptions): Promise<number> {
    return this.runtime.run({ id, bundle, stdin: opts.stdin }, { keep: opts.keep, signals: opts.signals });
  }

  async oomKilled(id: string): Promise<boolean> {
    try {
      const record = this.runtime.store.read(id);
      return record.cgroup !== undefined && (await this.runtime.cgroups(record).oomKillCount()) > 0n;
    } catch {
      return false;
    }
  }
}

/** A runtime driven through runc's command line, with `--root <root>` on every call. */
export class OciCliRuntimeHandler implements RuntimeHandler {
  constructor(
    readonly name: string,
    private readonly binary: string,
    private readonly root: string,
  ) {}

  private argv(...args: string[]): string[] {
    return ['--root', this.root, ...args];
  }

  /** Runs a short command; a failure is the runtime's last line of stderr. */
  private call(args: string[], what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.binary, this.argv(...args), { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        if (typeof err.code === 'string') return reject(this.unavailable(err.message));
        reject(this.failure(what, stderr));
      });
    });
  }

  private unavailable(why: string): BerthError {
    return new BerthError('unavailable', `runtime ${this.name} (${this.binary}) cannot be started: ${why}`, { path: this.binary });
  }

  private failure(what: string, stderr: string): BerthError {
    const lines = stderr.trim().split('\n').filter(Boolean);
    // runc logs as logfmt (`level=error msg="..."`); keep the message.
    const last = (lines.at(-1) ?? `exited with an error`).replace(/^.*\bmsg="(.*)"\s*$/, '$1');
    return new BerthError('internal', `${this.name} ${what}: ${last}`, { op: what });
  }

  createMonitored(req: MonitoredCreate): Promise<Monitored> {
    return startMonitored({
      ...req.monitor,
      terminal: !!req.spec.process?.terminal,
      pidFile: req.pidFile,
      createCommand: (consoleSocket) => [
        this.binary,
        ...this.argv('create', '--bundle', req.bundle, '--pid-file', req.pidFile, ...(consoleSocket ? ['--console-socket', consoleSocket] : []), req.id),
      ],
    });
  }

  async exists(id: string): Promise<boolean> {
    try {
      await this.call(['state', id], 'state');
      return true;
    } catch (err) {
      if (err instanceof BerthError && err.kind === 'unavailable') throw err;
      return false;
    }
  }

  async status(id: string): Promise<ContainerStatus> {
    return (JSON.parse(await this.call(['state', id], 'state')) as { status: ContainerStatus }).status;
  }

  async start(id: string): Promise<void> {
    await this.call(['start', id], 'start');
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.call(['kill', ...(all ? ['--all'] : []), id, signal.replace(/^SIG/, '')], 'kill');
  }

  async delete(id: string, force = false): Promise<void> {
    await this.call(['delete', ...(force ? ['--force'] : []), id], 'delete');
  }

  async exec(id: string, process: Process, opts: HandlerExecOptions = {}): Promise<number> {
    if (opts.consoleSocket && !opts.detach) {
      // runc and crun keep a foreground exec's terminal to themselves (relayed to their own stdio)
      // and never send it to the socket; only --detach does, and then nobody can reap the process.
      throw unimplemented(`exec with a terminal through ${this.name}: a foreground ${this.name} exec does not hand its terminal to a console socket; use berth's runtime, or no tty`, { op: 'exec', field: 'tty' });
    }
    const dir = mkdtempSync(join(tmpdir(), 'berth-exec-'));
    try {
      const file = join(dir, 'process.json');
      writeFileSync(file, JSON.stringify(process));
      const pidFile = join(dir, 'pid');
      const args = this.argv(
        'exec', '--process', file, '--pid-file', pidFile, ...(opts.detach ? ['--detach'] : []), ...(process.terminal ? ['--tty'] : []),
        ...(opts.consoleSocket ? ['--console-socket', opts.consoleSocket] : []), id,
      );
      const out = opts.output === 'none' ? 'ignore' : 'inherit';
      return await this.foreground(args, opts.stdio ?? [opts.stdin === 'none' ? 'ignore' : 'inherit', out, out], opts.signals, opts.signal, pidFile);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  run(id: string, bundle: string, opts: HandlerRunOptions): Promise<number> {
    const args = this.argv('run', '--bundle', bundle, ...(opts.keep ? ['--keep'] : []), id);
    return this.foreground(args, [opts.stdin === 'none' ? 'ignore' : 'inherit', 'inherit', 'inherit'], opts.signals);
  }

  async oomKilled(): Promise<boolean> {
    return false;
  }

  /**
   * Runs the runtime with the given stdio, passing the caller's signals on; its exit status. An
   * abort kills the process in the container (its pid from `pidFile`: SIGKILL cannot be passed on
   * through the runtime), then the runtime.
   */
  private foreground(args: string[], stdio: StdioEntry[], signals: SignalSource | undefined, abort?: AbortSignal, pidFile?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, { stdio: stdio as StdioOptions });
      const unsubscribe = signals?.((sig) => void child.kill(sig));
      // The process may be running before the runtime has written its pid file: wait for the
      // file while the runtime lives (killing the runtime first would orphan the process).
      const kill = (): void => {
        const pid = pidFile ? Number(readTextQuietly(pidFile)) : 0;
        if (pid > 0) signalQuietly(pid, 'SIGKILL');
        if (pid > 0 || !pidFile || child.exitCode !== null || Date.now() > killDeadline) child.kill('SIGKILL');
        else setTimeout(kill, 5);
      };
      let killDeadline = 0;
      const onAbort = (): void => {
        killDeadline = Date.now() + 5000;
        kill();
      };
      abort?.addEventListener('abort', onAbort, { once: true });
      if (abort?.aborted) onAbort();
      const done = (): void => {
        unsubscribe?.();
        abort?.removeEventListener('abort', onAbort);
      };
      child.on('error', (err) => {
        done();
        reject(this.unavailable(err.message));
      });
      child.on('exit', (code, signal) => {
        done();
        resolve(exitStatus(code, signal));
      });
    });
  }
}

function readTextQuietly(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}
