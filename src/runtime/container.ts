// The container lifecycle of the OCI runtime spec, as runc implements it: create (init waits on
// the exec fifo), start, state, kill, delete, and run (create + start + wait).

import { closeSync, constants, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import { BerthError, fromSystemError, invalid, notFound, precondition } from '../oci/errors.ts';
import { parseSpec } from '../oci/runtime-spec-validate.ts';
import { OCI_VERSION, type ContainerStatus, type Process, type Resources, type Spec, type State } from '../oci/runtime-spec.ts';
import { mergeResources } from './update-resources.ts';
import { compileExecPlan } from './exec-plan.ts';
import { SpawnSession, spawnError } from '../sys/berth-spawn.ts';
import { startConsoleRelay, type ConsoleRelay } from '../sys/console-relay.ts';
import { processAlive, readProcStat } from '../sys/proc.ts';
import type { Plan } from '../sys/plan-ops.ts';
import { gatherHostFacts } from './host-facts.ts';
import { runHook, runHookInNamespaces } from './hooks.ts';
import { compilePlan, SYNC } from './plan-compiler.ts';
import { StateStore, validateId, type ContainerRecord } from './state-store.ts';
import { resolveSignal } from './signals.ts';
import { writeIdMappings } from './id-mappings.ts';
import { mountIdsBelow, unmountBelow } from './unmount-below.ts';
import { cgroupManagerFromJSON, openCgroupManager, withDefaultDeviceRules, type CgroupManager } from './cgroups/index.ts';

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** The container's stdin: the caller's (default) or /dev/null (`berth run` without -i). */
  stdin?: 'inherit' | 'none';
  /** A file descriptor the container's stdout and stderr go to (default: the caller's). */
  output?: number;
  /** Aborting stops the create: what it started is killed and removed (SIGTERM to the CLI). */
  signal?: AbortSignal;
}

export interface ExecOptions {
  consoleSocket?: string;
  detach?: boolean;
  pidFile?: string;
  preserveFds?: number;
  /** The process's stdin: the caller's (default) or /dev/null. */
  stdin?: 'inherit' | 'none';
  /** Its stdout and stderr: the caller's (default) or /dev/null (a detached `berth exec`). */
  output?: 'inherit' | 'none';
}

export interface RuntimeOptions {
  root: string;
  /** Warnings that must not fail the operation (poststart/poststop hook failures). */
  warn?: (message: string) => void;
}

/** `state` output: the OCI state plus runc's extra fields. */
export interface StateOutput extends State {
  rootfs: string;
  created: string;
  owner: string;
}

const interrupted = (): BerthError => new BerthError('internal', 'create was interrupted: the container was removed', { op: 'create' });

export function loadBundle(bundle: string): { spec: Spec; rootfs: string; bundle: string } {
  const dir = resolve(bundle);
  const file = `${dir}/config.json`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = fromSystemError(err, 'read', file);
    throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? notFound(`bundle ${dir} has no config.json`, { path: file, errno: 'ENOENT' }) : e;
  }
  const spec = parseSpec(text, file);
  if (!spec.root) throw invalid(`${file}: root: required`, { field: 'root', path: file });
  const rootfs = resolve(dir, spec.root.path);
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {
    throw notFound(`root.path: rootfs ${rootfs} does not exist`, { field: 'root.path', path: rootfs, errno: 'ENOENT' });
  }
  if (!isDir) throw invalid(`root.path: rootfs ${rootfs} is not a directory`, { field: 'root.path', path: rootfs, errno: 'ENOTDIR' });
  return { spec, rootfs, bundle: dir };
}

export class Runtime {
  readonly store: StateStore;
  /** The state root (`--root`). */
  readonly root: string;
  private readonly warn: (message: string) => void;

  constructor(options: RuntimeOptions) {
    this.root = options.root;
    this.store = new StateStore(options.root);
    this.warn = options.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`));
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

  /**
   * Creates the container: init runs the plan up to the exec fifo. Any failure leaves nothing
   * behind. With `wait`, berth-spawn stays as init's parent and the session is returned open.
   */
  async create(options: CreateOptions, wait = false): Promise<{ record: ContainerRecord; session: SpawnSession }> {
    validateId(options.id);
    const { spec, rootfs, bundle } = loadBundle(options.bundle);
    const host = gatherHostFacts(spec, bundle, rootfs);
    const fifoPath = this.store.fifoPath(options.id);
    const plan = compilePlan({
      spec,
      bundle,
      rootfs,
      fifoPath,
      consoleSocket: options.consoleSocket ? resolve(options.consoleSocket) : undefined,
      noPivot: options.noPivot,
      preserveFds: options.preserveFds,
      wait,
      host,
      warn: this.warn,
    });
    const cgroups = await openCgroupManager({ id: options.id, cgroupsPath: spec.linux?.cgroupsPath });
    this.store.claim(options.id);
    const record: ContainerRecord = {
      id: options.id,
      bundle,
      rootfs,
      pid: 0,
      pidStartTime: 0,
      created: new Date().toISOString(),
      creating: true,
      owner: '',
      config: spec,
      cgroup: cgroups.toJSON(),
      ...(spec.linux?.namespaces?.some((n) => n.type === 'mount') ? {} : { hostMountsBefore: mountIdsBelow(rootfs) }),
    };
    let session: SpawnSession | undefined;
    const signal = options.signal;
    const onAbort = (): void => {
      // The set-up in progress ends with an error (the channel closes), and the catch cleans up.
      session?.child.kill('SIGKILL');
      if (record.pid) killQuietly(record.pid, 'SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw interrupted();
      this.store.write(record);
      await cgroups.create();
      record.cgroup = cgroups.toJSON(); // now knows the parent directories it made
      this.store.write(record);
      const warnings = await cgroups.set(withDefaultDeviceRules(spec.linux?.resources, spec.linux?.devices));
      for (const w of warnings) this.warn(w);
      session = new SpawnSession(plan, {
        preserveFds: options.preserveFds,
        detached: true,
        stdio: [options.stdin === 'none' ? 'ignore' : 'inherit', options.output ?? 'inherit', options.output ?? 'inherit'],
      });
      if (signal?.aborted) onAbort();
      await this.driveCreate(session, plan, record, spec, cgroups, signal);
      if (signal?.aborted) throw interrupted();
      if (options.pidFile) writePidFile(options.pidFile, record.pid);
      record.creating = false;
      this.store.write(record);
      if (!wait) session.release();
      return { record, session };
    } catch (err) {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) err = interrupted();
      session?.close();
      if (record.pid) killQuietly(record.pid, 'SIGKILL');
      if (session) await withTimeout(session.exited, 2000, undefined);
      await this.waitGone(record.pid, record.pidStartTime || undefined);
      await cgroups.destroy().catch(() => {});
      if (record.hostMountsBefore) await unmountBelow(rootfs, record.hostMountsBefore).catch(() => {});
      // A create-phase hook that failed: the lifecycle goes on at "destroy", then poststop.
      if (err instanceof BerthError && err.where.field?.startsWith('hooks.')) await this.runPoststop(record);
      this.store.remove(options.id);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async driveCreate(
    session: SpawnSession,
    plan: Plan,
    record: ContainerRecord,
    spec: Spec,
    cgroups: CgroupManager,
    signal?: AbortSignal,
  ): Promise<void> {
    const namespaces = spec.linux?.namespaces ?? [];
    for (;;) {
      const m = await session.next();
      switch (m.type) {
        case 'pid': {
          record.pid = m.pid;
          record.pidStartTime = readProcStat(m.pid)?.startTime ?? 0;
          this.store.write(record);
          break;
        }
        case 'sync': {
          if (m.point === SYNC.clone) {
            if (namespaces.some((n) => n.type === 'user' && !n.path)) writeIdMappings(record.pid, spec);
            await cgroups.apply(record.pid);
            if (spec.process?.oomScoreAdj !== undefined) writeOomScoreAdj(record.pid, spec.process.oomScoreAdj);
          } else if (m.point === SYNC.hooks) {
            const state = this.ociState(record, 'creating');
            const hooks = spec.hooks ?? {};
            for (const [i, h] of (hooks.prestart ?? []).entries()) await runHook(h, state, `hooks.prestart[${i}]`, signal);
            for (const [i, h] of (hooks.createRuntime ?? []).entries()) await runHook(h, state, `hooks.createRuntime[${i}]`, signal);
            const types = namespaces.map((n) => n.type);
            for (const [i, h] of (hooks.createContainer ?? []).entries()) {
              await runHookInNamespaces(h, state, `hooks.createContainer[${i}]`, record.pid, types, signal);
            }
          }
          session.ack();
          if (m.point === SYNC.created) return;
          break;
        }
        case 'error':
          throw spawnError(plan, m);
        case 'done':
        case 'eof': {
          const { code, signal } = await withTimeout(session.exited, 1000, { code: null, signal: null });
          throw new BerthError('internal', `container init exited during set-up${code !== null ? ` (status ${code})` : signal ? ` (${signal})` : ''}`, { op: 'create' });
        }
      }
    }
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
        killQuietly(record.pid, 'SIGKILL');
        await this.waitGone(record.pid, record.pidStartTime);
        throw err;
      }
    }
  }

  private async runPoststop(record: ContainerRecord): Promise<void> {
    const stopped = this.ociState(record, 'stopped');
    for (const [i, h] of (record.config.hooks?.poststop ?? []).entries()) {
      await runHook(h, stopped, `hooks.poststop[${i}]`).catch((err: Error) => this.warn(err.message));
    }
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    const record = this.store.read(id);
    const status = this.status(record);
    if (status === 'stopped') throw precondition(`container "${id}" is not running`, { op: 'kill' });
    const sig = resolveSignal(signal);
    if (all) {
      const pids = await this.cgroups(record).pids(true);
      for (const pid of pids) killQuietly(pid, sig);
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
      killQuietly(record.pid, 'SIGKILL');
      // A frozen process only dies once thawed.
      if (status === 'paused') await cgroups?.thaw().catch(() => {});
      await this.waitGone(record.pid, record.pidStartTime);
    }
    if (cgroups) {
      // Without a pid namespace, processes may outlive init: the cgroup knows them all.
      for (const pid of await cgroups.pids(true).catch(() => [])) killQuietly(pid, 'SIGKILL');
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
    const session = new SpawnSession(plan, { preserveFds: opts.preserveFds, detached: true, stdio: [opts.stdin === 'none' ? 'ignore' : 'inherit', out, out] });
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
      if (pid) killQuietly(pid, 'SIGKILL');
      throw err;
    }
    if (opts.pidFile) writePidFile(opts.pidFile, pid);
    if (opts.detach) {
      session.release();
      return 0;
    }
    return this.waitForeground(session);
  }

  /** Waits for a foreground berth-spawn (wait mode), forwarding signals; its status is the process's. */
  private async waitForeground(session: SpawnSession): Promise<number> {
    const forward = (sig: NodeJS.Signals): void => {
      if (session.child.pid) killQuietly(session.child.pid, sig);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];
    for (const s of signals) process.on(s, forward);
    try {
      const { code, signal } = await session.exited;
      return code ?? (signal ? 128 + osConstants.signals[signal] : 255);
    } finally {
      for (const s of signals) process.off(s, forward);
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
  async run(options: CreateOptions, opts: { detach?: boolean; keep?: boolean } = {}): Promise<number> {
    // A terminal without a console socket: relay it to our own stdio (runc does the same).
    let relay: ConsoleRelay | undefined;
    if (!options.consoleSocket && !opts.detach && loadBundle(options.bundle).spec.process?.terminal) {
      relay = await startConsoleRelay({ stdin: options.stdin !== 'none' });
      options = { ...options, consoleSocket: relay.socketPath };
    }
    let session: SpawnSession;
    try {
      ({ session } = await this.create(options, !opts.detach));
    } catch (err) {
      relay?.close();
      throw err;
    }
    if (opts.detach) {
      await this.start(options.id);
      return 0;
    }
    try {
      const running = this.waitForeground(session);
      await this.start(options.id);
      const code = await running;
      if (relay) await withTimeout(relay.done, 2000, undefined);
      return code;
    } finally {
      relay?.close();
      session.close();
      if (!opts.keep) await this.delete(options.id, true);
    }
  }

  private async waitGone(pid: number, startTime?: number, timeoutMs = 5000): Promise<void> {
    if (!pid) return;
    const deadline = Date.now() + timeoutMs;
    while (processAlive(pid, startTime)) {
      if (Date.now() > deadline) throw new BerthError('internal', `process ${pid} did not exit after SIGKILL`, { op: 'kill' });
      await delay(2);
    }
  }
}

function killQuietly(pid: number, sig: NodeJS.Signals | number): void {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, String(pid));
    // rename keeps readers from seeing a half-written file, as runc does
    renameSync(tmp, path);
  } catch (err) {
    throw fromSystemError(err, 'write pid file', path);
  }
}

function writeOomScoreAdj(pid: number, value: number): void {
  const file = `/proc/${pid}/oom_score_adj`;
  try {
    writeFileSync(file, String(value));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      throw new BerthError('permission-denied', `process.oomScoreAdj: setting ${value} was refused (lowering it needs CAP_SYS_RESOURCE)`, {
        field: 'process.oomScoreAdj',
        path: file,
        errno: e.code,
      });
    }
    throw fromSystemError(err, 'write', file);
  }
}

/** The promise's value, or `fallback` after ms; the timer never keeps the process alive. */
function withTimeout<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((res) => {
    timer = setTimeout(() => res(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
