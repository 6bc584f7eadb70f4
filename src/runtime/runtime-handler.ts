// One interface over "the low-level runtime that runs this container": berth's own, in this
// process, or any program with runc's command line (runc, crun, runsc, berth-runtime itself),
// each with its own state root. `berth run --runtime` picks one per container; the CRI's
// RuntimeClass handlers will pick the same way.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../oci/errors.ts';
import type { ContainerStatus, Process } from '../oci/runtime-spec.ts';
import { Runtime } from './container.ts';

export type StdinMode = 'inherit' | 'none';

export interface HandlerExecOptions {
  detach?: boolean;
  stdin?: StdinMode;
  /** stdout and stderr: the caller's, or /dev/null (a detached exec). */
  output?: 'inherit' | 'none';
}

export interface RuntimeHandler {
  /** 'berth' or the runtime's program name (runc, crun...). */
  readonly name: string;
  /** argv of `create` for a monitor; it must write the container's init pid to `pidFile`. */
  createCommand(id: string, bundle: string, pidFile: string, consoleSocket?: string): string[];
  exists(id: string): boolean;
  status(id: string): ContainerStatus;
  start(id: string): Promise<void>;
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  delete(id: string, force?: boolean): Promise<void>;
  /** Runs another process in the container; its exit status (0 at once with `detach`). */
  exec(id: string, process: Process, opts?: HandlerExecOptions): Promise<number>;
  /** create + start in the foreground; the container's exit status. With `keep`, its state stays. */
  run(id: string, bundle: string, opts: { stdin?: StdinMode; keep?: boolean }): Promise<number>;
}

const consoleArgs = (socket: string | undefined): string[] => (socket ? ['--console-socket', socket] : []);

/** berth's own runtime, in this process (no extra program start per operation). */
export class BerthRuntimeHandler implements RuntimeHandler {
  readonly name = 'berth';

  constructor(
    readonly runtime: Runtime,
    /** bin/berth-runtime, for monitors: the same runtime as a program, on the same state root. */
    private readonly binary: string,
  ) {}

  createCommand(id: string, bundle: string, pidFile: string, consoleSocket?: string): string[] {
    return [this.binary, '--root', this.runtime.root, 'create', '--bundle', bundle, '--pid-file', pidFile, ...consoleArgs(consoleSocket), id];
  }

  exists(id: string): boolean {
    return this.runtime.store.exists(id);
  }

  status(id: string): ContainerStatus {
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

  run(id: string, bundle: string, opts: { stdin?: StdinMode; keep?: boolean }): Promise<number> {
    return this.runtime.run({ id, bundle, stdin: opts.stdin }, { keep: opts.keep });
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
  private call(args: string[], what: string): string {
    const r = spawnSync(this.binary, this.argv(...args), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.error) throw new BerthError('unavailable', `runtime ${this.name} (${this.binary}) cannot be started: ${r.error.message}`, { path: this.binary });
    if (r.status !== 0) throw this.failure(what, r.stderr);
    return r.stdout;
  }

  private failure(what: string, stderr: string): BerthError {
    const lines = stderr.trim().split('\n').filter(Boolean);
    // runc logs as logfmt (`level=error msg="..."`); keep the message.
    const last = (lines.at(-1) ?? `exited with an error`).replace(/^.*\bmsg="(.*)"\s*$/, '$1');
    return new BerthError('internal', `${this.name} ${what}: ${last}`, { op: what });
  }

  createCommand(id: string, bundle: string, pidFile: string, consoleSocket?: string): string[] {
    return [this.binary, ...this.argv('create', '--bundle', bundle, '--pid-file', pidFile, ...consoleArgs(consoleSocket), id)];
  }

  exists(id: string): boolean {
    return spawnSync(this.binary, this.argv('state', id), { stdio: 'ignore' }).status === 0;
  }

  status(id: string): ContainerStatus {
    return (JSON.parse(this.call(['state', id], 'state')) as { status: ContainerStatus }).status;
  }

  async start(id: string): Promise<void> {
    this.call(['start', id], 'start');
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    this.call(['kill', ...(all ? ['--all'] : []), id, signal.replace(/^SIG/, '')], 'kill');
  }

  async delete(id: string, force = false): Promise<void> {
    this.call(['delete', ...(force ? ['--force'] : []), id], 'delete');
  }

  async exec(id: string, process: Process, opts: HandlerExecOptions = {}): Promise<number> {
    const dir = mkdtempSync(join(tmpdir(), 'berth-exec-'));
    try {
      const file = join(dir, 'process.json');
      writeFileSync(file, JSON.stringify(process));
      const args = this.argv('exec', '--process', file, ...(opts.detach ? ['--detach'] : []), ...(process.terminal ? ['--tty'] : []), id);
      const out = opts.output === 'none' ? 'ignore' : 'inherit';
      return await this.foreground(args, [opts.stdin === 'none' ? 'ignore' : 'inherit', out, out]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  run(id: string, bundle: string, opts: { stdin?: StdinMode; keep?: boolean }): Promise<number> {
    const args = this.argv('run', '--bundle', bundle, ...(opts.keep ? ['--keep'] : []), id);
    return this.foreground(args, [opts.stdin === 'none' ? 'ignore' : 'inherit', 'inherit', 'inherit']);
  }

  /** Runs the runtime with our stdio, passing on SIGINT/SIGTERM; its exit status. */
  private foreground(args: string[], stdio: Array<'inherit' | 'ignore'>): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, { stdio });
      const forward = (sig: NodeJS.Signals): void => void child.kill(sig);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      const done = (): void => {
        process.off('SIGINT', forward);
        process.off('SIGTERM', forward);
      };
      child.on('error', (err) => {
        done();
        reject(new BerthError('unavailable', `runtime ${this.name} (${this.binary}) cannot be started: ${err.message}`, { path: this.binary }));
      });
      child.on('exit', (code, signal) => {
        done();
        resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
      });
    });
  }
}
