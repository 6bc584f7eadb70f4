// Containers under `berth-spawn --monitor` (native/monitor.c): the monitor creates the container
// (running an OCI runtime's create, or berth's own plan: see create.ts), stays its parent (a child
// subreaper) after the caller exits, logs its output in the CRI format (rotated at the limits
// given), writes its exit status to a file and announces the exit on its channel and attach
// socket. `logs`, `stop` and `ps` read the files the monitor keeps, and tell from the monitor's
// pid and start time whether it still supervises.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { BerthError } from '../oci/errors.ts';
import { spawnBinary } from '../sys/berth-spawn.ts';
import { processAlive, readProcStat } from '../sys/proc.ts';
import type { LogLimits } from './log-options.ts';

/** What a monitor does for its container, however the container is created. */
export interface MonitorSettings {
  /** The container has a terminal (process.terminal): the monitor receives and keeps its pty. */
  terminal?: boolean;
  /** The container's stdin is a pipe the monitor keeps open (`run -d -i`), not /dev/null. */
  stdinPipe?: boolean;
  /** Where `berth attach` connects (absolute; may be longer than a socket address allows). */
  attachSocket?: string;
  /** The CRI log file; without one, output goes to attached clients only. */
  logFile?: string;
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
}

/** A monitor that runs an OCI runtime's create command (runc, crun, runsc, berth-runtime). */
export interface MonitorOptions extends MonitorSettings {
  /**
   * The runtime's create command, e.g. [berth-runtime, --root, R, create, --bundle, B, --pid-file,
   * P, id], given the console socket to pass on when the container has a terminal.
   */
  createCommand: (consoleSocket: string | undefined) => string[];
  /** Where that command writes the container's pid. */
  pidFile: string;
  env?: NodeJS.ProcessEnv;
}

/** How the container ended, as the monitor saw it. */
export interface MonitorExit {
  /** The exit code, or 128 + the signal number. */
  status: number;
  /** When the init was reaped, in ns since the Unix epoch. */
  time: bigint;
}

/** The monitor's word on the container's end, from its channel or its attach socket. */
export interface ExitWatch {
  /** The exit, or undefined when the monitor went away without saying (killed), or after release(). */
  exit: Promise<MonitorExit | undefined>;
  /** Stops listening (this process may exit while the monitor runs on). */
  release(): void;
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
  /** The exit, announced on the monitor's channel. */
  watch: ExitWatch;
}

/** How long the runtime's create may take before the monitor (and it) are killed. */
const CREATE_TIMEOUT_MS = 60_000;

/** The monitor's arguments that do not depend on how the container is created. */
export function monitorArgs(opts: MonitorSettings, consoleSocket: string | undefined): string[] {
  const paths = [['log file', opts.logFile ?? '/'], ['exit file', opts.exitFile], ['attach socket', opts.attachSocket ?? '/']] as const;
  for (const [what, path] of paths) {
    // The monitor leaves the caller's working directory once the container exists.
    if (!isAbsolute(path)) throw new BerthError('invalid-argument', `monitor ${what} ${path} must be an absolute path`, { path });
  }
  const onExit = (opts.exitCommand ?? []).flatMap((a, i) => [i === 0 ? '--exit-command' : '--exit-command-arg', a]);
  const limits = opts.logLimits ? ['--log-max-size', String(opts.logLimits.maxSize), '--log-max-files', String(opts.logLimits.maxFiles)] : [];
  return [
    ...(opts.logFile ? ['--log', opts.logFile] : []), '--exit-file', opts.exitFile,
    ...limits,
    ...(opts.exitKill ? ['--exit-kill'] : []),
    ...(consoleSocket ? ['--console-socket', consoleSocket] : []),
    ...(opts.stdinPipe ? ['--stdin-pipe'] : []),
    ...(opts.attachSocket ? ['--attach-socket', opts.attachSocket] : []),
    ...onExit,
  ];
}

/**
 * Runs `use` with a console socket path for a monitor when the container has a terminal (in a
 * fresh directory under the temporary dir: socket paths are limited to 107 bytes), removed after.
 */
export async function withConsoleSocket<T>(terminal: boolean | undefined, use: (socket: string | undefined) => Promise<T>): Promise<T> {
  const socketDir = terminal ? mkdtempSync(join(tmpdir(), 'berth-mon-')) : undefined;
  try {
    return await use(socketDir ? join(socketDir, 'console.sock') : undefined);
  } finally {
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  }
}

/** Resolves once the runtime has created the container (not started it). */
export async function startMonitored(opts: MonitorOptions): Promise<Monitored> {
  if (!isAbsolute(opts.pidFile)) throw new BerthError('invalid-argument', `monitor pid file ${opts.pidFile} must be an absolute path`, { path: opts.pidFile });
  return withConsoleSocket(opts.terminal, (consoleSocket) => {
    const args = ['--monitor', '--ready-fd', '3', '--pid-file', opts.pidFile, ...monitorArgs(opts, consoleSocket), '--', ...opts.createCommand(consoleSocket)];
    return monitorUntilCreated(args, opts);
  });
}

async function monitorUntilCreated(args: string[], opts: MonitorOptions): Promise<Monitored> {
  const child = spawn(spawnBinary(), args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe'], detached: true, env: opts.env ?? process.env });
  // Read before anything else runs: until we reap it, even an exited monitor's /proc entry is there.
  const startTime = child.pid !== undefined ? (readProcStat(child.pid)?.startTime ?? 0) : 0;
  const channel = child.stdio[3] as Duplex;
  const lines = new LineReader(channel);
  const timer = setTimeout(() => {
    killGroup(child.pid);
    lines.end(`error the runtime's create did not finish within ${CREATE_TIMEOUT_MS / 1000} s`);
  }, CREATE_TIMEOUT_MS);
  child.on('error', (err) => lines.end(`error cannot start the monitor: ${err.message}`));
  const line = (await lines.next()) ?? '';
  clearTimeout(timer);
  const ok = /^ok (\d+)(?: unbound (.*))?$/.exec(line);
  if (ok && child.pid !== undefined) {
    const monitor = { pid: child.pid, startTime, bound: !!opts.exitKill && !ok[2] };
    const release = (): void => {
      channel.destroy();
      child.unref();
    };
    // The monitor itself does not keep this process alive; its channel does, until release().
    child.unref();
    return { pid: Number(ok[1]), monitor, ...(ok[2] ? { unbound: ok[2] } : {}), watch: { exit: exitFromLines(lines), release } };
  }
  channel.destroy();
  child.unref();
  const why = line.startsWith('error ') ? line.slice(6).trim() : line.trim() || 'the monitor exited without a word';
  throw new BerthError('internal', `create under the monitor failed: ${why.replace(/^berth-runtime: /, '')}`, { op: 'create' });
}

/** The first "exit STATUS NS" line, or undefined when the channel closes first. */
async function exitFromLines(lines: LineReader): Promise<MonitorExit | undefined> {
  for (;;) {
    const line = await lines.next();
    if (line === undefined) return undefined;
    const m = /^exit (\d+) (\d+)$/.exec(line);
    if (m) return { status: Number(m[1]), time: BigInt(m[2]!) };
  }
}

/** Lines from a stream, one at a time; undefined once it has ended. */
class LineReader {
  private buffer = '';
  private readonly queue: string[] = [];
  private waiter: ((line: string | undefined) => void) | undefined;
  private ended = false;

  constructor(stream: Duplex) {
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
    });
    const close = (): void => this.end(this.buffer || undefined);
    stream.on('end', close);
    stream.on('close', close);
    stream.on('error', close);
  }

  private push(line: string): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w(line);
    else this.queue.push(line);
  }

  /** Ends the stream of lines, with one last line if given. */
  end(last?: string): void {
    if (this.ended) return;
    if (last) this.push(last);
    this.buffer = '';
    this.ended = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(undefined);
  }

  next(): Promise<string | undefined> {
    const line = this.queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.waiter = resolve));
  }
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
  return readExit(path)?.status;
}

/** The exit the monitor recorded: the status, and the time (the file's modification time). */
export function readExit(path: string): MonitorExit | undefined {
  let text: string;
  let time: bigint;
  try {
    text = readFileSync(path, 'utf8');
    time = statSync(path, { bigint: true }).mtimeNs;
  } catch {
    return undefined;
  }
  return /^\d{1,3}$/.test(text.trim()) ? { status: Number(text.trim()), time } : undefined;
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
