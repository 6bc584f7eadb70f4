// The container lifecycle of the OCI runtime spec, as runc implements it: create (init waits on
// the exec fifo), start, state, kill, delete, and run (create + start + wait).

import { closeSync, constants, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { BerthError, fromSystemError, invalid, precondition } from '../oci/errors.ts';
import { OCI_VERSION, type ContainerStatus, type Process, type Resources, type State } from '../oci/runtime-spec.ts';
import { mergeResources } from './update-resources.ts';
import { compileExecPlan } from './exec-plan.ts';
import { SpawnSession, spawnError, type StdioEntry } from '../sys/berth-spawn.ts';
import { startConsoleRelay, type ConsoleRelay } from '../sys/console-relay.ts';
import { processAlive, signalQuietly, untilGone } from '../sys/proc.ts';
import { gatherHostFacts } from './host-facts.ts';
import { runHook, runPoststopHooks } from './hooks.ts';
import { loadBundle } from './bundle.ts';
import { createContainer, withTimeout, writePidFile, type ContainerHandle, type CreateOptions } from './create.ts';
import { compilePlan, SYNC } from './plan-compiler.ts';
import type { Plan } from '../sys/plan-ops.ts';
import { setTimeout as delay } from 'node:timers/promises';
import type { RuntimeContext } from './runtime-context.ts';
import { StateStore, type ContainerRecord } from './state-store.ts';
import { exitStatus, resolveSignal, type SignalSource } from './signals.ts';
import { unmountBelow } from './unmount-below.ts';
import { cgroupManagerFromJSON, withDefaultDeviceRules, type CgroupManager } from './cgroups/index.ts';

export { loadBundle } from './bundle.ts';
export type { ContainerHandle, CreateOptions } from './create.ts';

export interface ExecOptions {
  consoleSocket?: string;
  detach?: boolean;
  pidFile?: string;
  preserveFds?: number;
  /** The process's stdin: the caller's (default) or /dev/null. */
  stdin?: 'inherit' | 'none';
  /** Its stdout and stderr: the caller's (default) or /dev/null (a detached `berth exec`). */
  output?: 'inherit' | 'none';
  /** Its stdin, stdout and stderr, when they are neither the caller's nor /dev/null (berthd's pipes). */
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
  /** The caller's signals to pass on to the process while it runs in the foreground. */
  signals?: SignalSource;
}

export interface RunOptions {
  detach?: boolean;
  keep?: boolean;
  /** The caller's signals to pass on to the container while it runs in the foreground. */
  signals?: SignalSource;
}

export interface RuntimeOptions {
  root: string;
  /** Warnings that must not fail the operation (poststart/poststop hook failures); default: dropped. */
  warn?: (message: string) => void;
}

/** `state` output: the OCI state plus runc's extra fields. */
export interface StateOutput extends State {
  rootfs: string;
  created: string;
  owner: string;
}

export class Runtime implements RuntimeContext {
  readonly store: StateStore;
  /** The state root (`--root`). */
  readonly root: string;
  readonly warn: (message: string) => void;

  constructor(options: RuntimeOptions) {
    this.root = options.root;
    this.store = new StateStore(options.root);
    this.warn = options.warn ?? (() => {});
  }

  status(record: ContainerRecord): ContainerStatus {
    if (record.creating) return processAlive(record.pid, record.pidStartTime || undefined) || !record.pid ? 'creating' : 'stopped';
    if (!processAlive(record.pid, record.pidStartTime)) return 'stopped';
    if (record.paused) return 'paused';
    try {
      statSync(this.store.fifoPath(record.id));
      return 'created';
    } catch {
      return 'running';
    }
  }

  ociState(record: ContainerRecord, status = this.status(record)): State {
    const state: State = { ociVersion: OCI_VERSION, id: record.id, status, bundle: record.bundle };
    if (status !== 'stopped' && record.pid) state.pid = record.pid;
    if (record.config.annotations && Object.keys(record.config.annotations).length) state.annotations = record.config.annotations;
    return state;
  }

  state(id: string): StateOutput {
    const record = this.store.read(id);
    const status = this.status(record);
    return {
      ociVersion: OCI_VERSION,
      id,
      pid: status === 'stopped' ? 0 : record.pid,
      status,
      bundle: record.bundle,
      rootfs: record.rootfs,
      created: record.created,
      owner: record.owner,
      ...(record.config.annotations && Object.keys(record.config.annotations).length ? { annotations: record.config.annotations } : {}),
    };
  }

  list(): StateOutput[] {
    const out: StateOutput[] = [];
    for (const id of this.store.list()) {
      try {
        out.push(this.state(id));
      } catch {
        // A directory without a readable state (a create in progress) is not listed.
      }
    }
    return out;
  }

  /** Compiles the plan for a bundle without creating anything (`berth-runtime plan`). */
  plan(options: CreateOptions): Plan {
    const { spec, rootfs, bundle } = loadBundle(options.bundle);
    return compilePlan({
      spec,
      bundle,
      rootfs,
      fifoPath: this.store.fifoPath(options.id),
      consoleSocket: options.consoleSocket,
      noPivot: options.noPivot,
      preserveFds: options.preserveFds,
      host: gatherHostFacts(spec, bundle, rootfs),
    });
  }

  /** Creates the container: init runs the plan up to the exec fifo (create.ts). */
  create(options: CreateOptions): Promise<ContainerHandle> {
    return createContainer(this, options);
  }

  async start(id: string): Promise<void> {
    const record = this.store.read(id);
    const status = this.status(record);
    if (status !== 'created') throw precondition(`cannot start container "${id}": it is ${status}, not created`, { op: 'start' });
    const fifo = this.store.fifoPath(id);
    const state = this.ociState(record, 'created');
    const body = Buffer.from(JSON.stringify(state));
    const msg = Buffer.alloc(4 + body.length);
    msg.writeUInt32LE(body.length, 0);
    body.copy(msg, 4);
    let fd: number;
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENXIO') throw precondition(`cannot start container "${id}": its init process is gone`, { op: 'start', path: fifo });
      throw fromSystemError(err, 'open', fifo);
    }
    try {
      let off = 0;
      while (off < msg.length) {
        try {
          off += writeSync(fd, msg, off);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw fromSystemError(err, 'write', fifo);
          await delay(1);
        }
      }
    } finally {
      closeSync(fd);
    }
    try {
      unlinkSync(fifo);
    } catch {
      // already gone
    }
    // runtime-spec: a failing poststart hook is an error that stops the container (runc too).
    const running = this.ociState(record, 'running');
    for (const [i, h] of (record.config.hooks?.poststart ?? []).entries()) {
      try {
        await runHook(h, running, `hooks.poststart[${i}]`);
      } catch (err) {
        signalQuietly(record.pid, 'SIGKILL');
        await this.waitGone(record.pid, record.pidStartTime);
        throw err;
      }
    }
  }

  private runPoststop(record: ContainerRecord): Promise<void> {
    return runPoststopHooks(this, record);
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    const record = this.store.read(id);
    const status = this.status(record);
    if (status === 'stopped') throw precondition(`container "${id}" is not running`, { op: 'kill' });
    const sig = resolveSignal(signal);
    if (all) {
      const pids = await this.cgroups(record).pids(true);
      for (const pid of pids) signalQuietly(pid, sig);
      return;
    }
    try {
      process.kill(record.pid, sig);
    } catch (err) {
      throw fromSystemError(err, 'kill', String(record.pid));
    }
  }

  async delete(id: string, force = false): Promise<void> {
    let record: ContainerRecord;
    try {
      record = this.store.read(id);
    } catch (err) {
      if (force && err instanceof BerthError && err.kind === 'not-found') return;
      throw err;
    }
    const status = this.status(record);
    if (status === 'running' && !force) {
      throw precondition(`cannot delete container "${id}" that is running: stop it first or use --force`, { op: 'delete' });
    }
    const cgroups = record.cgroup ? this.cgroups(record) : null;
    if (status !== 'stopped') {
      signalQuietly(record.pid, 'SIGKILL');
      // A frozen process only dies once thawed.
      if (status === 'paused') await cgroups?.thaw().catch(() => {});
      await this.waitGone(record.pid, record.pidStartTime);
    }
    if (cgroups) {
      // Without a pid namespace, processes may outlive init: the cgroup knows them all.
      for (const pid of await cgroups.pids(true).catch(() => [])) signalQuietly(pid, 'SIGKILL');
      await cgroups.destroy();
    }
    if (record.hostMountsBefore) await unmountBelow(record.rootfs, record.hostMountsBefore);
    await this.runPoststop(record);
    this.store.remove(id);
  }

  /**
   * Starts another process in a running container (runc exec). Returns its exit status, or 0
   * at once with `detach`. `process` may be built from the container's own process.
   */
  async exec(id: string, process: Process | ((containerProcess: Process | undefined) => Process), opts: ExecOptions = {}): Promise<number> {
    const record = this.store.read(id);
    const status = this.status(record);
    if (status !== 'running' && status !== 'created') throw precondition(`cannot exec in container "${id}": it is ${status}`, { op: 'exec' });
    const proc = typeof process === 'function' ? process(record.config.process) : process;
    let relay: ConsoleRelay | undefined;
    if (proc.terminal && !opts.consoleSocket) {
      if (opts.detach) throw invalid('exec: a detached process with a terminal needs --console-socket', { field: '--console-socket' });
      relay = await startConsoleRelay({ stdin: opts.stdin !== 'none' });
      opts = { ...opts, consoleSocket: relay.socketPath };
    }
    try {
      const code = await this.execWith(record, proc, opts);
      if (relay) await withTimeout(relay.done, 2000, undefined);
      return code;
    } finally {
      relay?.close();
    }
  }

  private async execWith(record: ContainerRecord, proc: Process, opts: ExecOptions): Promise<number> {
    const spec = record.config;
    const host = gatherHostFacts({ ...spec, process: proc, mounts: [] }, record.bundle, record.rootfs);
    const plan = compileExecPlan({
      pid: record.pid,
      namespaces: (spec.linux?.namespaces ?? []).map((n) => n.type),
      process: proc,
      seccomp: spec.linux?.seccomp,
      consoleSocket: opts.consoleSocket ? resolve(opts.consoleSocket) : undefined,
      detach: opts.detach,
      preserveFds: opts.preserveFds,
      host,
    });
    const cgroups = record.cgroup ? this.cgroups(record) : null;
    const out = opts.output === 'none' ? 'ignore' : 'inherit';
    const stdio = opts.stdio ?? [opts.stdin === 'none' ? 'ignore' : 'inherit', out, out];
    const session = new SpawnSession(plan, { preserveFds: opts.preserveFds, detached: true, stdio });
    let pid = 0;
    try {
      for (;;) {
        const m = await session.next();
        if (m.type === 'pid') {
          pid = m.pid;
          continue;
        }
        if (m.type === 'error') throw spawnError(plan, m);
        if (m.type !== 'sync') throw new BerthError('internal', 'exec: the process exited during set-up', { op: 'exec' });
        if (m.point === SYNC.clone) await cgroups?.apply(pid);
        session.ack();
        if (m.point === SYNC.created) break;
      }
    } catch (err) {
      session.close();
      if (pid) signalQuietly(pid, 'SIGKILL');
      throw err;
    }
    if (opts.pidFile) writePidFile(opts.pidFile, pid);
    if (opts.detach) {
      session.release();
      return 0;
    }
    const unsubscribe = opts.signals?.((sig) => signalQuietly(session.child.pid ?? 0, sig));
    try {
      const { code, signal } = await session.exited;
      return exitStatus(code, signal);
    } finally {
      unsubscribe?.();
      session.close();
    }
  }

  async pause(id: string): Promise<void> {
    const record = this.store.read(id);
    const status = this.status(record);
    if (status !== 'running' && status !== 'created') throw precondition(`cannot pause container "${id}": it is ${status}`, { op: 'pause' });
    await this.cgroups(record).freeze();
    record.paused = true;
    this.store.write(record);
  }

  async resume(id: string): Promise<void> {
    const record = this.store.read(id);
    if (this.status(record) !== 'paused') throw precondition(`cannot resume container "${id}": it is not paused`, { op: 'resume' });
    await this.cgroups(record).thaw();
    record.paused = false;
    this.store.write(record);
  }

  /** Pids of every process in the container (its cgroup). */
  async pids(id: string): Promise<number[]> {
    const record = this.store.read(id);
    if (this.status(record) === 'stopped') return [];
    return (await this.cgroups(record).pids(true)).sort((a, b) => a - b);
  }

  /** Writes new resource limits and keeps them in the container's config. Returns warnings. */
  async update(id: string, resources: Resources): Promise<string[]> {
    const record = this.store.read(id);
    if (this.status(record) === 'stopped') throw precondition(`cannot update container "${id}": it is stopped`, { op: 'update' });
    // v1 device rules are written once at create: rewriting them line by line would briefly deny
    // every device. A v2 device program is swapped whole, built as create builds it.
    const cgroups = this.cgroups(record);
    const { devices, ...writable } = resources;
    const linuxDevices = record.config.linux?.devices;
    const warnings = await cgroups.set(cgroups.mode === 'v2' && devices ? withDefaultDeviceRules({ ...writable, devices }, linuxDevices) : writable);
    const linux = (record.config.linux ??= {});
    linux.resources = mergeResources(linux.resources, resources);
    this.store.write(record);
    return warnings;
  }

  cgroups(record: ContainerRecord): CgroupManager {
    return cgroupManagerFromJSON(record.cgroup);
  }

  /** create + start; in the foreground, waits and returns the container's exit status. */
  async run(options: CreateOptions, opts: RunOptions = {}): Promise<number> {
    // A terminal without a console socket: relay it to our own stdio (runc does the same).
    let relay: ConsoleRelay | undefined;
    const spec = options.spec ?? loadBundle(options.bundle).spec;
    if (!options.consoleSocket && !opts.detach && spec.process?.terminal) {
      relay = await startConsoleRelay({ stdin: options.stdin !== 'none' });
      options = { ...options, consoleSocket: relay.socketPath };
    }
    let handle: ContainerHandle;
    try {
      handle = await this.create({ ...options, wait: !opts.detach });
    } catch (err) {
      relay?.close();
      throw err;
    }
    if (opts.detach) {
      await this.start(options.id);
      return 0;
    }
    const unsubscribe = opts.signals?.((sig) => handle.kill(sig));
    try {
      const exited = handle.wait();
      await this.start(options.id);
      const code = (await exited)?.status ?? 255;
      if (relay) await withTimeout(relay.done, 2000, undefined);
      return code;
    } finally {
      unsubscribe?.();
      relay?.close();
      handle.release();
      if (!opts.keep) await this.delete(options.id, true);
    }
  }

  private async waitGone(pid: number, startTime?: number, timeoutMs = 5000): Promise<void> {
    if (!(await untilGone(pid, startTime, timeoutMs))) throw new BerthError('internal', `process ${pid} did not exit after SIGKILL`, { op: 'kill' });
  }
}

