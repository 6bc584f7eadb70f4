// Starts a container under `berth-spawn --monitor` (native/monitor.c): the monitor runs the OCI
// runtime's create, stays the container's parent (a child subreaper) after berth exits, logs its
// output in the CRI format (rotated at the limits given) and writes its exit status to a file.
// berth then starts the container and is free to go; `logs`, `stop` and `ps` read the files the
// monitor keeps, and tell from the monitor's pid and start time whether it still supervises.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../oci/errors.ts';
import { spawnBinary } from '../sys/berth-spawn.ts';
import { processAlive, readProcStat } from '../sys/proc.ts';
import type { LogLimits } from './log-options.ts';

export interface MonitorOptions {
  /**
   * The runtime's create command, e.g. [berth-runtime, --root, R, create, --bundle, B, --pid-file,
   * P, id], given the console socket to pass on when the container has a terminal.
   */
  createCommand: (consoleSocket: string | undefined) => string[];
  /** The container has a terminal (process.terminal): the monitor receives and keeps its pty. */
  terminal?: boolean;
  /** The container's stdin is a pipe the monitor keeps open (`run -d -i`), not /dev/null. */
  stdinPipe?: boolean;
  /** Where `berth attach` connects (absolute; may be longer than a socket address allows). */
  attachSocket?: string;
  /** Where that command writes the container's pid. */
  pidFile: string;
  logFile: string;
  /** Rotation of the log file; without it, the log grows without limit. */
  logLimits?: LogLimits;
  exitFile: string;
  /**
   * Tie the container to the monitor: the kernel kills the container's init if the monitor dies
   * (ptrace's PTRACE_O_EXITKILL; nothing else traces the init then, e.g. strace or gdb).
   */
  exitKill?: boolean;
  /** Runs after the exit file is written, e.g. to remove the container (`run -d --rm`). */
  exitCommand?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Who supervises a container: kept in its record, checked by every command that acts on it. */
export interface MonitorRecord {
  pid: number;
  /** /proc/<pid>/stat's start time: a pid reused by another process is not the monitor. */
  startTime: number;
  /** The container's init dies with the monitor (exitKill, granted by the kernel). */
  bound: boolean;
}

export interface Monitored {
  /** The container's init. */
  pid: number;
  monitor: MonitorRecord;
  /** Why exitKill was asked for and not granted. */
  unbound?: string;
}

/** How long the runtime's create may take before the monitor (and it) are killed. */
const CREATE_TIMEOUT_MS = 60_000;

/** Resolves once the runtime has created the container (not started it). */
export async function startMonitored(opts: MonitorOptions): Promise<Monitored> {
  const paths = [['pid file', opts.pidFile], ['log file', opts.logFile], ['exit file', opts.exitFile], ['attach socket', opts.attachSocket ?? '/']] as const;
  for (const [what, path] of paths) {
    // The monitor leaves the caller's working directory once the container exists.
    if (!isAbsolute(path)) throw new BerthError('invalid-argument', `monitor ${what} ${path} must be an absolute path`, { path });
  }
  const onExit = (opts.exitCommand ?? []).flatMap((a, i) => [i === 0 ? '--exit-command' : '--exit-command-arg', a]);
  // A short path: unix socket paths are limited to 107 bytes.
  const socketDir = opts.terminal ? mkdtempSync(join(tmpdir(), 'berth-mon-')) : undefined;
  const consoleSocket = socketDir ? join(socketDir, 'console.sock') : undefined;
  const limits = opts.logLimits ? ['--log-max-size', String(opts.logLimits.maxSize), '--log-max-files', String(opts.logLimits.maxFiles)] : [];
  const args = [
    '--monitor', '--ready-fd', '3', '--pid-file', opts.pidFile, '--log', opts.logFile, '--exit-file', opts.exitFile,
    ...limits,
    ...(opts.exitKill ? ['--exit-kill'] : []),
    ...(consoleSocket ? ['--console-socket', consoleSocket] : []),
    ...(opts.stdinPipe ? ['--stdin-pipe'] : []),
    ...(opts.attachSocket ? ['--attach-socket', opts.attachSocket] : []),
    ...onExit, '--', ...opts.createCommand(consoleSocket),
  ];
  try {
    return await monitorUntilCreated(args, opts);
  } finally {
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  }
}

async function monitorUntilCreated(args: string[], opts: MonitorOptions): Promise<Monitored> {
  const child = spawn(spawnBinary(), args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe'], detached: true, env: opts.env ?? process.env });
  // Read before anything else runs: until we reap it, even an exited monitor's /proc entry is there.
  const startTime = child.pid !== undefined ? (readProcStat(child.pid)?.startTime ?? 0) : 0;
  const ready = child.stdio[3] as Readable;
  let text = '';
  const line = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => {
      killGroup(child.pid);
      resolve(`error the runtime's create did not finish within ${CREATE_TIMEOUT_MS / 1000} s`);
    }, CREATE_TIMEOUT_MS);
    ready.on('close', () => clearTimeout(timer));
    ready.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    ready.on('close', () => resolve(text));
    child.on('error', (err) => resolve(`error cannot start the monitor: ${err.message}`));
  });
  ready.destroy();
  child.unref();
  const ok = /^ok (\d+)(?: unbound (.*))?$/.exec(line);
  if (ok && child.pid !== undefined) {
    const monitor = { pid: child.pid, startTime, bound: !!opts.exitKill && !ok[2] };
    return { pid: Number(ok[1]), monitor, ...(ok[2] ? { unbound: ok[2] } : {}) };
  }
  const why = line.startsWith('error ') ? line.slice(6).trim() : line.trim() || 'the monitor exited without a word';
  throw new BerthError('internal', `create under the monitor failed: ${why.replace(/^berth-runtime: /, '')}`, { op: 'create' });
}

function killGroup(pid: number | undefined): void {
  try {
    if (pid) process.kill(-pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** The exit status the monitor recorded, or undefined while the container has not ended. */
export function readExitFile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return /^\d{1,3}$/.test(text.trim()) ? Number(text.trim()) : undefined;
}

/**
 * Whether a container is still supervised: 'supervised' while its monitor runs, 'ended' once the
 * monitor recorded its exit, 'lost' when the monitor died without doing so (killed): nothing logs
 * the container's output or will record its exit any more. Without a record (a foreground run),
 * 'supervised'.
 */
export function supervision(monitor: MonitorRecord | undefined, exitFile: string): 'supervised' | 'ended' | 'lost' {
  // Alive first: a monitor that exits right after this check has written the exit file by then.
  const alive = !monitor || processAlive(monitor.pid, monitor.startTime || undefined);
  if (readExitFile(exitFile) !== undefined) return 'ended';
  return alive ? 'supervised' : 'lost';
}
