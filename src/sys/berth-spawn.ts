// Starts berth-spawn (native/) with a plan and speaks its channel protocol:
// berth-spawn writes "pid N", "sync NAME", "error INDEX ERRNO TEXT" and "done" lines; we answer
// a sync with "ack" (go on) or close the channel (abandon). A monitor in plan mode
// (`berth-spawn --monitor --plan-fd N`) relays those lines and adds its own: "ready PID [unbound
// WHY]" once it supervises the container, "fail WHY" when set-up failed, and later
// "exit STATUS UNIX_NS" when the container has ended.

import { spawn, type ChildProcess, type IOType } from 'node:child_process';
import type { Stream } from 'node:stream';
import { closeSync, existsSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Socket } from 'node:net';
import { BerthError } from '../oci/errors.ts';
import { errnoMessage, errnoName } from './errno.ts';
import { encodePlan } from './plan-wire.ts';
import type { Plan } from './plan-ops.ts';

export type SpawnMessage =
  | { type: 'pid'; pid: number }
  | { type: 'sync'; point: string }
  | { type: 'error'; index: number; errno: number; text: string }
  | { type: 'done' }
  | { type: 'ready'; pid: number; unbound?: string }
  | { type: 'fail'; text: string }
  /** berth-spawn in wait mode: the child's status; a monitor: the container's, and when (Unix ns). */
  | { type: 'exit'; status: number; time?: bigint }
  | { type: 'eof' };

let cachedBinary: string | undefined;

/** Makes every later spawn run `path` (sealed-spawn.ts: one sealed copy shared by a daemon's helpers). */
export function useSpawnBinary(path: string): void {
  cachedBinary = path;
}

/** The berth-spawn binary: $BERTH_SPAWN, else native/build/berth-spawn next to the sources or bundle. */
export function spawnBinary(): string {
  if (cachedBinary) return cachedBinary;
  const env = process.env.BERTH_SPAWN;
  if (env) return (cachedBinary = env);
  // Run from sources (tsx) or the ESM bundle; the start-up snapshot has no module URL and is
  // always started by bin/berth-runtime, which sets BERTH_SPAWN.
  const url = typeof import.meta.url === 'string' ? import.meta.url : undefined;
  const here = url ? dirname(fileURLToPath(url)) : process.cwd();
  for (const rel of ['../../native/build/berth-spawn', '../native/build/berth-spawn']) {
    const candidate = resolve(here, rel);
    if (existsSync(candidate)) return (cachedBinary = candidate);
  }
  throw new BerthError('internal', 'berth-spawn is not built: run `npm run build:native`', { path: 'native/build/berth-spawn' });
}

export type StdioEntry = IOType | number | Stream | null;

export interface SpawnOptions {
  /** stdin, stdout, stderr of the process (default: inherit all three). */
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
  /** Pass the caller's fds 3..3+n-1 through to the container (runc --preserve-fds). */
  preserveFds?: number;
  /** Let the caller exit while berth-spawn runs on (a detached container). */
  detached?: boolean;
  /** berth-spawn's arguments, given the channel's fd (default: the fd alone, the plan executor). */
  args?: (channelFd: number) => string[];
}

/**
 * The berth-spawn that bin/berth-runtime's front started for this command while Node booted
 * (native/front.c pre_spawn): its channel fd and pid, once. Its fd is inherited by every child
 * Node starts until it is taken: whatever spawns another helper first calls releasePreSpawned.
 */
let preSpawned: { fd: number; pid: number } | null | undefined;

function takePreSpawned(): { fd: number; pid: number } | null {
  if (preSpawned === undefined) {
    const m = /^(\d+) (\d+)$/.exec(process.env.BERTH_SPAWN_CHANNEL ?? '');
    delete process.env.BERTH_SPAWN_CHANNEL;
    preSpawned = m ? { fd: Number(m[1]), pid: Number(m[2]) } : null;
  }
  const taken = preSpawned;
  preSpawned = null;
  return taken;
}

/** Closes the pre-spawned berth-spawn's channel (it exits) unless a session has taken it. */
export function releasePreSpawned(): void {
  const p = takePreSpawned();
  if (p) closeQuietly(p.fd);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // not open
  }
}

/** Hands the plan to the pre-spawned berth-spawn; null if there is none or it is gone. */
function planToPreSpawned(plan: Plan, options: SpawnOptions): { channel: Socket; pid: number } | null {
  const inherit = (options.stdio ?? ['inherit', 'inherit', 'inherit']).every((s) => s === 'inherit');
  if (!inherit || !options.detached) {
    releasePreSpawned();
    return null;
  }
  const p = takePreSpawned();
  if (!p) return null;
  try {
    writeSync(p.fd, encodePlan(plan)); // a blocking socket, until the stream below takes it
  } catch {
    closeQuietly(p.fd); // gone (EPIPE) or never there: spawn one as usual
    return null;
  }
  return { channel: new Socket({ fd: p.fd, readable: true, writable: true }), pid: p.pid };
}

export class SpawnSession {
  /** The berth-spawn process when this Node process started it (not a pre-spawned one). */
  readonly child?: ChildProcess;
  readonly pid: number | undefined;
  private readonly channel: Socket;
  private buffer = '';
  private readonly queue: SpawnMessage[] = [];
  private waiter: ((m: SpawnMessage) => void) | null = null;
  private ended = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(plan: Plan, options: SpawnOptions = {}) {
    // A monitor is always started here; only the plain executor may be the pre-spawned one.
    const pre = options.args ? (releasePreSpawned(), null) : planToPreSpawned(plan, options);
    if (pre) {
      // Not our child as far as libuv knows: its status comes as an "exit" line (wait mode).
      this.pid = pre.pid;
      this.channel = pre.channel;
      this.exited = new Promise((resolveExit) => (this.resolveExit = resolveExit));
    } else {
      const preserve = options.preserveFds ?? 0;
      const stdio: StdioEntry[] = [...(options.stdio ?? ['inherit', 'inherit', 'inherit'])];
      for (let fd = 3; fd < 3 + preserve; fd++) stdio.push(fd);
      stdio.push('pipe');
      const channelFd = 3 + preserve;
      const args = options.args ? options.args(channelFd) : [String(channelFd)];
      const child = spawn(spawnBinary(), args, { stdio, detached: options.detached ?? false });
      this.child = child;
      this.pid = child.pid;
      this.exited = new Promise((resolveExit) => {
        child.once('exit', (code, signal) => resolveExit({ code, signal }));
        child.once('error', () => resolveExit({ code: 255, signal: null }));
      });
      this.channel = child.stdio[channelFd] as Socket;
      this.channel.write(encodePlan(plan));
    }
    this.channel.setEncoding('utf8');
    this.channel.on('data', (chunk: string) => this.onData(chunk));
    this.channel.on('end', () => this.onEnd());
    this.channel.on('close', () => this.onEnd());
    this.channel.on('error', () => this.onEnd());
  }

  private resolveExit?: (status: { code: number | null; signal: NodeJS.Signals | null }) => void;

  private push(m: SpawnMessage): void {
    if (m.type === 'exit' || m.type === 'eof') this.resolveExit?.({ code: m.type === 'exit' ? m.status : null, signal: null });
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(m);
    } else this.queue.push(m);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.push(parseMessage(line));
    }
  }

  private onEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.push({ type: 'eof' });
  }

  next(): Promise<SpawnMessage> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return Promise.resolve({ type: 'eof' });
    return new Promise((res) => (this.waiter = res));
  }

  ack(): void {
    this.channel.write('ack\n');
  }

  /** Closes our end of the channel: a process waiting at a sync point exits. */
  close(): void {
    this.channel.destroy();
  }

  /** Stops tracking the child so that this Node process can exit while it runs on. */
  release(): void {
    this.channel.destroy();
    this.child?.unref();
  }
}

export function parseMessage(line: string): SpawnMessage {
  const [word, ...rest] = line.split(' ');
  switch (word) {
    case 'pid':
      return { type: 'pid', pid: Number(rest[0]) };
    case 'sync':
      return { type: 'sync', point: rest.join(' ') };
    case 'error':
      return { type: 'error', index: Number(rest[0]), errno: Number(rest[1]), text: rest.slice(2).join(' ') };
    case 'done':
      return { type: 'done' };
    case 'ready': {
      const unbound = rest[1] === 'unbound' ? rest.slice(2).join(' ') : undefined;
      return { type: 'ready', pid: Number(rest[0]), ...(unbound !== undefined ? { unbound } : {}) };
    }
    case 'fail':
      return { type: 'fail', text: rest.join(' ') };
    case 'exit':
      if (!/^\d+$/.test(rest[0] ?? '') || (rest[1] !== undefined && !/^\d+$/.test(rest[1]))) break;
      return { type: 'exit', status: Number(rest[0]), ...(rest[1] !== undefined ? { time: BigInt(rest[1]) } : {}) };
  }
  return { type: 'error', index: -1, errno: 0, text: `unexpected message from berth-spawn: ${line}` };
}

/** Turns an error line into a BerthError naming the config field the failed operation came from. */
export function spawnError(plan: Plan, m: { index: number; errno: number; text: string }): BerthError {
  const op = m.index >= 0 ? plan[m.index] : undefined;
  const errno = m.errno ? errnoName(m.errno) : undefined;
  const where = op?.origin ? `${op.origin}: ` : '';
  let text = m.text;
  if (op?.kind === 'setrlimit') {
    text = `setrlimit ${op.name} soft ${op.soft} hard ${op.hard}`;
    if (errno === 'EPERM') text += ' (raising a hard limit needs CAP_SYS_RESOURCE, which the runtime lacks)';
  }
  const kind = errno === 'EPERM' || errno === 'EACCES' ? 'permission-denied' : errno === 'ENOENT' ? 'not-found' : 'internal';
  return new BerthError(kind, `${where}${text}${errno ? `: ${errnoMessage(errno)}` : ''}`, {
    field: op?.origin,
    op: op?.kind,
    errno,
  });
}
