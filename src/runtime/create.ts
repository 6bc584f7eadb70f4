// `create`: the container's init runs the plan up to the exec fifo, and waits there for `start`.
// Three ways, one sequence (docs/create-start.md):
//  - berth-spawn runs the plan and exits after the clone (`berth-runtime create`: runc's contract);
//  - with `wait`, berth-spawn stays init's parent and reports its exit (a foreground `run`);
//  - with `monitor`, a monitor runs the plan itself (`berth-spawn --monitor --plan-fd`), is init's
//    parent, keeps its stdio, logs and exit status, and announces the exit (berth run -d, berthd).
// Any failure leaves nothing behind: init is killed, the cgroups and the state directory removed.

import { writeFileSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import { BerthError, fromSystemError, invalid } from '../oci/errors.ts';
import type { Spec, State } from '../oci/runtime-spec.ts';
import { SpawnSession, spawnError, type SpawnMessage, type StdioEntry } from '../sys/berth-spawn.ts';
import { readProcStat, signalQuietly, untilGone } from '../sys/proc.ts';
import type { Plan } from '../sys/plan-ops.ts';
import { loadBundle, specBundle, type LoadedBundle } from './bundle.ts';
import { openCgroupManager, withDefaultDeviceRules, type CgroupManager } from './cgroups/index.ts';
import { gatherHostFacts } from './host-facts.ts';
import { runHook, runHookInNamespaces, runPoststopHooks } from './hooks.ts';
import { writeIdMappings } from './id-mappings.ts';
import { monitorArgs, withConsoleSocket, type MonitorExit, type MonitorRecord, type MonitorSettings } from './monitor.ts';
import { compilePlan, SYNC } from './plan-compiler.ts';
import type { RuntimeContext } from './runtime-context.ts';
import { exitStatus } from './signals.ts';
import { validateId, type ContainerRecord } from './state-store.ts';
import { mountIdsBelow, unmountBelow } from './unmount-below.ts';

export interface CreateOptions {
  id: string;
  /** The bundle directory: its config.json is read unless `spec` is given. */
  bundle: string;
  /** The container's config, when the caller has it (berth, berthd): config.json is not read. */
  spec?: Spec;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** The container's stdin, stdout and stderr (default: the caller's). A monitor has its own. */
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
  /** The container's stdin: the caller's (default) or /dev/null; overrides stdio[0]. */
  stdin?: 'inherit' | 'none';
  /** A file descriptor the container's stdout and stderr go to; overrides stdio[1] and stdio[2]. */
  output?: number;
  /** Aborting stops the create: what it started is killed and removed. */
  signal?: AbortSignal;
  /** berth-spawn stays init's parent: the handle's wait() gives the exit status (a foreground run). */
  wait?: boolean;
  /** A monitor creates the container and supervises it from then on (its terminal: process.terminal). */
  monitor?: Omit<MonitorSettings, 'terminal'>;
}

/** A created container, as its creator holds it. */
export interface ContainerHandle {
  readonly record: ContainerRecord;
  /** The container's init. */
  readonly pid: number;
  /** The monitor, when one created the container, with why it could not tie the init to itself. */
  readonly monitor?: MonitorRecord & { unbound?: string };
  /**
   * The container's exit: with `wait`, once berth-spawn has seen init end (no time then); under a
   * monitor, its announcement. undefined when nobody can tell (no wait, no monitor; the monitor died;
   * after release()).
   */
  wait(): Promise<MonitorExit | { status: number; time?: undefined } | undefined>;
  /** With `wait`: a signal to berth-spawn, which passes it on to init. */
  kill(signal: NodeJS.Signals): void;
  /** Lets this process exit while the container (and its monitor) run on. */
  release(): void;
}

const interrupted = (): BerthError => new BerthError('internal', 'create was interrupted: the container was removed', { op: 'create' });

/** `loaded`: the bundle, when the caller has read it already (run). */
export async function createContainer(ctx: RuntimeContext, options: CreateOptions, loaded?: LoadedBundle): Promise<ContainerHandle> {
  validateId(options.id);
  loaded ??= options.spec ? specBundle(options.bundle, options.spec) : loadBundle(options.bundle);
  const terminal = !!loaded.spec.process?.terminal;
  if (options.monitor) {
    if (options.consoleSocket) throw invalid('create: a monitor receives the terminal itself; no --console-socket with it', { field: '--console-socket' });
    if (options.preserveFds) throw invalid('create: a monitor passes no fds to the container (--preserve-fds)', { field: '--preserve-fds' });
    if (options.wait) throw invalid('create: a monitor waits for the container itself (no wait with it)', { op: 'create' });
  }
  const bundle = loaded;
  return withConsoleSocket(!!options.monitor && terminal, (monitorConsole) => create(ctx, options, bundle, monitorConsole));
}

async function create(
  ctx: RuntimeContext,
  options: CreateOptions,
  { spec, rootfs, bundle }: { spec: Spec; rootfs: string; bundle: string },
  monitorConsole: string | undefined,
): Promise<ContainerHandle> {
  const host = gatherHostFacts(spec, bundle, rootfs);
  const consoleSocket = monitorConsole ?? (options.consoleSocket ? resolve(options.consoleSocket) : undefined);
  const plan = compilePlan({
    spec,
    bundle,
    rootfs,
    fifoPath: ctx.store.fifoPath(options.id),
    consoleSocket,
    noPivot: options.noPivot,
    preserveFds: options.preserveFds,
    wait: options.wait,
    host,
    warn: ctx.warn,
  });
  const cgroups = await openCgroupManager({ id: options.id, cgroupsPath: spec.linux?.cgroupsPath });
  ctx.store.claim(options.id);
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
  let monitor: (MonitorRecord & { unbound?: string }) | undefined;
  const signal = options.signal;
  const onAbort = (): void => {
    // The set-up in progress ends with an error (the channel closes), and the catch cleans up.
    signalQuietly(session?.pid ?? 0, 'SIGKILL');
    signalQuietly(record.pid, 'SIGKILL');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) throw interrupted();
    // Written twice: now, so that a create killed half-way can still be deleted (the record
    // names the cgroups), and once the container is created.
    ctx.store.write(record);
    await cgroups.create();
    const warnings = await cgroups.set(withDefaultDeviceRules(spec.linux?.resources, spec.linux?.devices));
    for (const w of warnings) ctx.warn(w);
    session = startSession(plan, options, monitorConsole);
    if (options.monitor) monitor = { pid: session.pid ?? 0, startTime: readProcStat(session.pid ?? 0)?.startTime ?? 0, bound: false };
    if (signal?.aborted) onAbort();
    await driveCreate(ctx, session, plan, record, spec, cgroups, signal);
    if (monitor) Object.assign(monitor, await monitorReady(session, !!options.monitor?.exitKill));
    if (signal?.aborted) throw interrupted();
    if (options.pidFile) writePidFile(options.pidFile, record.pid);
    record.creating = false;
    record.cgroup = cgroups.toJSON(); // now with the parent directories create() made
    ctx.store.write(record);
    if (!options.wait && !monitor) session.release();
    return handleOf(record, session, options, monitor);
  } catch (err) {
    signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) err = interrupted();
    session?.close();
    signalQuietly(record.pid, 'SIGKILL');
    if (session) await withTimeout(session.exited, 2000, undefined);
    if (!(await untilGone(record.pid, record.pidStartTime || undefined, 5000))) {
      ctx.warn(`process ${record.pid} did not exit after SIGKILL`);
    }
    await cgroups.destroy().catch(() => {});
    if (record.hostMountsBefore) await unmountBelow(rootfs, record.hostMountsBefore).catch(() => {});
    // A create-phase hook that failed: the lifecycle goes on at "destroy", then poststop.
    if (err instanceof BerthError && err.where.field?.startsWith('hooks.')) await runPoststopHooks(ctx, record);
    ctx.store.remove(options.id);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function startSession(plan: Plan, options: CreateOptions, monitorConsole: string | undefined): SpawnSession {
  if (options.monitor) {
    const settings = { ...options.monitor, terminal: !!monitorConsole };
    return new SpawnSession(plan, {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore'],
      args: (fd) => ['--monitor', '--plan-fd', String(fd), ...monitorArgs(settings, monitorConsole)],
    });
  }
  const stdio: [StdioEntry, StdioEntry, StdioEntry] = [...(options.stdio ?? ['inherit', 'inherit', 'inherit'])];
  if (options.stdin) stdio[0] = options.stdin === 'none' ? 'ignore' : 'inherit';
  if (options.output !== undefined) stdio[1] = stdio[2] = options.output;
  return new SpawnSession(plan, { preserveFds: options.preserveFds, detached: true, stdio });
}

/** Answers the plan's sync points until init reports "created" (and waits for start). */
async function driveCreate(ctx: RuntimeContext, session: SpawnSession, plan: Plan, record: ContainerRecord, spec: Spec, cgroups: CgroupManager, signal?: AbortSignal): Promise<void> {
  const namespaces = spec.linux?.namespaces ?? [];
  for (;;) {
    const m = await session.next();
    switch (m.type) {
      case 'pid': {
        // Not written to state.json yet: until init is in the cgroups it dies with this
        // process (its sync channel closes, or its monitor sees this process go), and from then
        // on the cgroups find it.
        record.pid = m.pid;
        record.pidStartTime = readProcStat(m.pid)?.startTime ?? 0;
        break;
      }
      case 'sync': {
        if (m.point === SYNC.clone) {
          if (namespaces.some((n) => n.type === 'user' && !n.path)) writeIdMappings(record.pid, spec);
          await cgroups.apply(record.pid);
          if (spec.process?.oomScoreAdj !== undefined) writeOomScoreAdj(record.pid, spec.process.oomScoreAdj);
        } else if (m.point === SYNC.hooks) {
          await runCreateHooks(ctx.ociState(record, 'creating'), spec, record.pid, signal);
        }
        session.ack();
        if (m.point === SYNC.created) return;
        break;
      }
      case 'error':
        throw spawnError(plan, m);
      default:
        throw await setUpEnded(session, m);
    }
  }
}

async function runCreateHooks(state: State, spec: Spec, pid: number, signal?: AbortSignal): Promise<void> {
  const hooks = spec.hooks ?? {};
  for (const [i, h] of (hooks.prestart ?? []).entries()) await runHook(h, state, `hooks.prestart[${i}]`, signal);
  for (const [i, h] of (hooks.createRuntime ?? []).entries()) await runHook(h, state, `hooks.createRuntime[${i}]`, signal);
  const types = (spec.linux?.namespaces ?? []).map((n) => n.type);
  for (const [i, h] of (hooks.createContainer ?? []).entries()) {
    await runHookInNamespaces(h, state, `hooks.createContainer[${i}]`, pid, types, signal);
  }
}

/** The monitor's answer once init has reached "created": it supervises (ready), or says why not. */
async function monitorReady(session: SpawnSession, exitKill: boolean): Promise<{ bound: boolean; unbound?: string }> {
  const m = await session.next();
  if (m.type === 'ready') return { bound: exitKill && m.unbound === undefined, ...(m.unbound !== undefined ? { unbound: m.unbound } : {}) };
  throw await setUpEnded(session, m);
}

/** The error for a set-up that ended before the container was created. */
async function setUpEnded(session: SpawnSession, m: SpawnMessage): Promise<BerthError> {
  if (m.type === 'fail') return new BerthError('internal', `the monitor could not create the container: ${m.text}`, { op: 'create' });
  const { code, signal } = await withTimeout(session.exited, 1000, { code: null, signal: null });
  return new BerthError('internal', `container init exited during set-up${code !== null ? ` (status ${code})` : signal ? ` (${signal})` : ''}`, { op: 'create' });
}

function handleOf(record: ContainerRecord, session: SpawnSession, options: CreateOptions, monitor: (MonitorRecord & { unbound?: string }) | undefined): ContainerHandle {
  let waited: Promise<MonitorExit | { status: number } | undefined> | undefined;
  const wait = async (): Promise<MonitorExit | { status: number } | undefined> => {
    if (options.wait) {
      const { code, signal } = await session.exited;
      session.close();
      return { status: exitStatus(code, signal) };
    }
    if (!monitor) return undefined;
    for (;;) {
      const m = await session.next();
      if (m.type === 'exit' && m.time !== undefined) return { status: m.status, time: m.time };
      if (m.type === 'eof') return undefined;
    }
  };
  return {
    record,
    pid: record.pid,
    ...(monitor ? { monitor } : {}),
    wait: () => (waited ??= wait()),
    kill: (sig) => {
      if (options.wait) signalQuietly(session.pid ?? 0, sig);
    },
    release: () => session.release(),
  };
}

export function writePidFile(path: string, pid: number): void {
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

/** The promise's value, or `fallback` after ms (the timer is cleared as soon as the promise settles). */
export function withTimeout<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((res) => {
    timer = setTimeout(() => res(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
