// `exec`: another process in a running container (runc exec): berth-spawn joins the container's
// namespaces and cgroups and runs the process plan; in the foreground its status is the
// process's, passed signals on.
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError, invalid } from '../oci/errors.ts';
import type { Process } from '../oci/runtime-spec.ts';
import { SpawnSession, spawnError, type StdioEntry } from '../sys/berth-spawn.ts';
import { startConsoleRelay, type ConsoleRelay } from '../sys/console-relay.ts';
import { signalQuietly } from '../sys/proc.ts';
import { cgroupManagerFromJSON } from './cgroups/index.ts';
import { withTimeout, writePidFile } from './create.ts';
import { compileExecPlan } from './exec-plan.ts';
import { gatherHostFacts } from './host-facts.ts';
import { SYNC } from './plan-compiler.ts';
import type { RuntimeContext } from './runtime-context.ts';
import { exitStatus, type SignalSource } from './signals.ts';
import type { ContainerRecord } from './state-store.ts';
import { requireStatus } from './transitions.ts';

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
  /** Aborting kills the process (and its process group) with SIGKILL; the call then returns its status. */
  signal?: AbortSignal;
  /** Receives the readable ends of the stdio entries given as 'pipe', once the process is spawned. */
  pipes?: (streams: ExecPipes) => void;
}

export interface ExecPipes {
  stdout: Readable | null;
  stderr: Readable | null;
}

/** Its exit status, or 0 at once with `detach`. `process` may be built from the container's own. */
export async function execInContainer(
  ctx: RuntimeContext,
  id: string,
  process: Process | ((containerProcess: Process | undefined) => Process),
  opts: ExecOptions = {},
): Promise<number> {
  const record = ctx.store.read(id);
  requireStatus('exec', id, ctx.status(record));
  const proc = typeof process === 'function' ? process(record.config.process) : process;
  let relay: ConsoleRelay | undefined;
  if (proc.terminal && !opts.consoleSocket) {
    if (opts.detach) throw invalid('exec: a detached process with a terminal needs --console-socket', { field: '--console-socket' });
    relay = await startConsoleRelay({ stdin: opts.stdin !== 'none' });
    opts = { ...opts, consoleSocket: relay.socketPath };
  }
  try {
    const code = await execWith(record, proc, opts);
    if (relay) await withTimeout(relay.done, 2000, undefined);
    return code;
  } finally {
    relay?.close();
  }
}

async function execWith(record: ContainerRecord, proc: Process, opts: ExecOptions): Promise<number> {
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
  const cgroups = record.cgroup ? cgroupManagerFromJSON(record.cgroup) : null;
  const out = opts.output === 'none' ? 'ignore' : 'inherit';
  const stdio = opts.stdio ?? [opts.stdin === 'none' ? 'ignore' : 'inherit', out, out];
  if (opts.signal?.aborted) throw new BerthError('deadline-exceeded', 'exec: cancelled before the process started', { op: 'exec' });
  const session = new SpawnSession(plan, { preserveFds: opts.preserveFds, detached: true, stdio });
  opts.pipes?.({ stdout: session.child?.stdout ?? null, stderr: session.child?.stderr ?? null });
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
  const unsubscribe = opts.signals?.((sig) => signalQuietly(session.pid ?? 0, sig));
  // berth-spawn leads its own process group (detached), which the exec'd process and whatever it
  // starts in the background share: the group's SIGKILL takes the whole tree.
  const kill = (): void => {
    killTree(pid);
    if (session.pid) killTree(session.pid);
  };
  opts.signal?.addEventListener('abort', kill, { once: true });
  if (opts.signal?.aborted) kill();
  try {
    const { code, signal } = await session.exited;
    return exitStatus(code, signal);
  } finally {
    opts.signal?.removeEventListener('abort', kill);
    unsubscribe?.();
    session.close();
  }
}

/** SIGKILL to an exec'd process and to its process group (what it started in the foreground). */
export function killTree(pid: number): void {
  if (pid <= 0) return;
  signalQuietly(-pid, 'SIGKILL');
  signalQuietly(pid, 'SIGKILL');
}
