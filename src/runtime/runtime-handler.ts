// One interface over "the low-level runtime that runs this container": berth's own, in this
// process, or any program with runc's command line (runc, crun, runsc, berth-runtime itself),
// each with its own state root. `berth run --runtime` picks one per container; the CRI's
// RuntimeClass handlers pick the same way. Every call is asynchronous: nothing here blocks the
// event loop (berthd serves many containers from one process).
import { execFile, spawn, type StdioOptions } from 'node:child_process';
import { constants as fsConstants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../oci/errors.ts';
import type { ContainerStatus, Process, Resources, Spec } from '../oci/runtime-spec.ts';
import { spawnBinary, type StdioEntry } from '../sys/berth-spawn.ts';
import { parseReaperReport, reaperArgs } from './exec-reaper.ts';
import { Runtime } from './container.ts';
import { startMonitored, type MonitorSettings, type Monitored } from './monitor.ts';
import { exitStatus, type SignalSource } from './signals.ts';
import { killTree, type ExecPipes } from './exec.ts';
import { readFileSync } from 'node:fs';
import { OCI_VERSION } from '../oci/runtime-spec.ts';
import { bundleOciVersion, runtimeSpecVersion } from './spec-version.ts';

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
  /** Aborting kills the process and what it started (SIGKILL); the call then resolves with its status. */
  signal?: AbortSignal;
  /** The readable ends of the stdio entries given as 'pipe' (berthd's ExecSync reads them). */
  pipes?: (streams: ExecPipes) => void;
  /** With `process.terminal`: where the runtime sends the pty master (the console-socket protocol). */
  consoleSocket?: string;
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
  /** Freezes every process of the container (its cgroup's freezer), and thaws them. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Runs another process in the container; its exit status (0 at once with `detach`). */
  exec(id: string, process: Process, opts?: HandlerExecOptions): Promise<number>;
  /** create + start in the foreground; the container's exit status. */
  run(id: string, bundle: string, opts: HandlerRunOptions): Promise<number>;
  /** Whether the kernel's OOM killer killed a process of the container (false when unknown). */
  oomKilled(id: string): Promise<boolean>;
  /** New resource limits for a created or running container (runc update); warnings about settings without effect. */
  update(id: string, resources: Resources): Promise<string[]>;
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

  pause(id: string): Promise<void> {
    return this.runtime.pause(id);
  }

  resume(id: string): Promise<void> {
    return this.runtime.resume(id);
  }

  exec(id: string, process: Process, opts: HandlerExecOptions = {}): Promise<number> {
    return this.runtime.exec(id, process, opts);
  }

  update(id: string, resources: Resources): Promise<string[]> {
    return this.runtime.update(id, resources);
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

/** A runtime driven through runc's command line, with `--root <root>` and its global flags on every call. */
export class OciCliRuntimeHandler implements RuntimeHandler {
  private specVersion: Promise<string | undefined> | undefined;

  constructor(
    readonly name: string,
    private readonly binary: string,
    private readonly root: string,
    private readonly globalFlags: readonly string[] = [],
  ) {}

  private argv(...args: string[]): string[] {
    return ['--root', this.root, ...this.globalFlags, ...args];
  }

  /** The program is there and executable, and names its runtime-spec version (asked once; a failure is asked again). */
  private ready(): Promise<string | undefined> {
    const probe = (this.specVersion ??= this.probe());
    probe.catch(() => {
      if (this.specVersion === probe) this.specVersion = undefined;
    });
    return probe;
  }

  private async probe(): Promise<string | undefined> {
    try {
      await access(this.binary, fsConstants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw this.unavailable(code === 'ENOENT' ? 'no such file' : `not executable (${code})`);
    }
    return new Promise((resolve) => {
      execFile(this.binary, ['--version'], { encoding: 'utf8', timeout: 10_000 }, (err, stdout) => resolve(err ? undefined : runtimeSpecVersion(stdout)));
    });
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

  async createMonitored(req: MonitoredCreate): Promise<Monitored> {
    const version = bundleOciVersion(req.spec.ociVersion || OCI_VERSION, await this.ready());
    if (version !== req.spec.ociVersion) writeFileSync(join(req.bundle, 'config.json'), JSON.stringify({ ...req.spec, ociVersion: version }, null, 2));
    try {
      return await startMonitored({
        ...req.monitor,
        terminal: !!req.spec.process?.terminal,
        pidFile: req.pidFile,
        createCommand: (consoleSocket) => [
          this.binary,
          ...this.argv('create', '--bundle', req.bundle, '--pid-file', req.pidFile, ...(consoleSocket ? ['--console-socket', consoleSocket] : []), req.id),
        ],
      });
    } catch (err) {
      // Which handler failed is what the caller needs first (a RuntimeClass names it).
      if (err instanceof BerthError) throw new BerthError(err.kind, `runtime handler ${this.name} (${this.binary}): ${err.message}`, err.where, { cause: err });
      throw err;
    }
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

  async pause(id: string): Promise<void> {
    await this.call(['pause', id], 'pause');
  }

  async resume(id: string): Promise<void> {
    await this.call(['resume', id], 'resume');
  }

  async exec(id: string, process: Process, opts: HandlerExecOptions = {}): Promise<number> {
    const dir = mkdtempSync(join(tmpdir(), 'berth-exec-'));
    try {
      const file = join(dir, 'process.json');
      writeFileSync(file, JSON.stringify(process));
      const pidFile = join(dir, 'pid');
      // A terminal for a console socket needs --detach (only then does the runtime send the pty
      // master); a foreground one then runs under the reaper, which waits for the process. With
      // no socket, a foreground runtime keeps the terminal and relays it to our stdio (berth exec -t).
      const toSocket = !!(process.terminal && opts.consoleSocket);
      const terminal = process.terminal ? ['--tty', ...(opts.consoleSocket ? ['--console-socket', opts.consoleSocket] : [])] : [];
      const detach = opts.detach || toSocket;
      const args = this.argv('exec', '--process', file, '--pid-file', pidFile, ...(detach ? ['--detach'] : []), ...terminal, id);
      const out = opts.output === 'none' ? 'ignore' : 'inherit';
      // runc cannot pass SIGKILL on: the process it started (its pid file) and that one's group get it.
      const kill = (runtimePid: number | undefined): void => {
        try {
          killTree(Number(readFileSync(pidFile, 'utf8').trim()));
        } catch {
          // not started yet: killing the runtime stops it
        }
        if (runtimePid) killTree(runtimePid);
      };
      if (toSocket && !opts.detach) return await this.reaped(pidFile, args, { signal: opts.signal, kill });
      return await this.foreground(args, opts.stdio ?? [opts.stdin === 'none' ? 'ignore' : 'inherit', out, out], opts.signals, { signal: opts.signal, kill, pipes: opts.pipes });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The runtime's detached exec under berth-spawn's reaper; the status of the process it left. */
  private reaped(pidFile: string, args: string[], cancel: { signal?: AbortSignal; kill: (reaperPid: number | undefined) => void }): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(spawnBinary(), reaperArgs(pidFile, this.binary, args), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const abort = (): void => cancel.kill(child.pid);
      cancel.signal?.addEventListener('abort', abort, { once: true });
      if (cancel.signal?.aborted) abort();
      child.on('error', (err) => {
        cancel.signal?.removeEventListener('abort', abort);
        reject(new BerthError('unavailable', `${this.name} exec: berth-spawn cannot be started: ${err.message}`, { op: 'exec' }));
      });
      child.on('close', (code, signal) => {
        cancel.signal?.removeEventListener('abort', abort);
        const report = parseReaperReport(stdout);
        if (report?.kind === 'exit') return resolve(report.code);
        if (report?.kind === 'runtime') return reject(this.failure('exec', stderr));
        if (cancel.signal?.aborted) return resolve(exitStatus(code, signal));
        reject(new BerthError('internal', `${this.name} exec: berth-spawn's exec reaper ended (${signal ?? code}) without a status: ${stderr.trim() || 'no message'}`, { op: 'exec' }));
      });
    });
  }

  run(id: string, bundle: string, opts: HandlerRunOptions): Promise<number> {
    const args = this.argv('run', '--bundle', bundle, ...(opts.keep ? ['--keep'] : []), id);
    return this.foreground(args, [opts.stdin === 'none' ? 'ignore' : 'inherit', 'inherit', 'inherit'], opts.signals);
  }

  async oomKilled(): Promise<boolean> {
    return false;
  }

  /** `update --resources FILE`: the OCI resources JSON, as runc and crun read it. */
  async update(id: string, resources: Resources): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'berth-update-'));
    try {
      const file = join(dir, 'resources.json');
      writeFileSync(file, JSON.stringify(resources));
      await this.call(['update', '--resources', file, id], 'update');
      return [];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Runs the runtime with the given stdio, passing the caller's signals on; its exit status. */
  private foreground(
    args: string[],
    stdio: StdioEntry[],
    signals: SignalSource | undefined,
    cancel: { signal?: AbortSignal; kill?: (runtimePid: number | undefined) => void; pipes?: (streams: ExecPipes) => void } = {},
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, { stdio: stdio as StdioOptions, detached: !!cancel.signal });
      cancel.pipes?.({ stdout: child.stdout, stderr: child.stderr });
      const unsubscribe = signals?.((sig) => void child.kill(sig));
      const abort = (): void => (cancel.kill ? cancel.kill(child.pid) : void child.kill('SIGKILL'));
      cancel.signal?.addEventListener('abort', abort, { once: true });
      if (cancel.signal?.aborted) abort();
      const done = (): void => {
        unsubscribe?.();
        cancel.signal?.removeEventListener('abort', abort);
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
