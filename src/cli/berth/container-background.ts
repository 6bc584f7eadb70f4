// Containers in the background: `berth run -d` (under berth-spawn --monitor, which keeps the
// output and the exit status in the container's directory), `berth logs` and `berth stop`. Each
// checks that the monitor still supervises the container: one killed leaves it unsupervised.
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { invalid, precondition } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import type { RuntimeHandler } from '../../runtime/runtime-handler.ts';
import { readExitFile, startMonitored, supervision, type Monitored } from '../../runtime/monitor.ts';
import { formatLogTime, parseLogTime, type LogLine, type LogStream } from '../../runtime/cri-log.ts';
import { readLog } from '../../runtime/log-reader.ts';
import { parseLogBound } from '../../runtime/log-time.ts';
import type { LogLimits } from '../../runtime/log-options.ts';
import { attach } from '../../runtime/attach-client.ts';
import type { Spec } from '../../oci/runtime-spec.ts';
import { str, type Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';
import { containersDir, findContainer, handlerFor, installedBinary, type ContainerMeta } from './container-records.ts';

/** Where a container's monitor keeps its files, inside the container's directory. */
export function monitorFiles(dir: string): { pidFile: string; logFile: string; exitFile: string; attachSocket: string } {
  return { pidFile: join(dir, 'init.pid'), logFile: join(dir, 'container.log'), exitFile: join(dir, 'exit-code'), attachSocket: join(dir, 'attach.sock') };
}

/**
 * Creates the container under a monitor, then starts it; berth may exit right after. With
 * `removeOnExit` the monitor runs `berth rm --force` once the container has ended (`run -d --rm`).
 * Unless `surviveMonitor`, the container's init dies with its monitor.
 */
export async function startInBackground(
  ctx: CliContext,
  runtime: RuntimeHandler,
  id: string,
  dir: string,
  opts: { removeOnExit?: boolean; terminal?: boolean; stdinOpen?: boolean; logLimits?: LogLimits; surviveMonitor?: boolean } = {},
): Promise<Monitored> {
  // berth's root, and so `dir`, is absolute (main.ts): the monitor outlives this working directory.
  const files = monitorFiles(dir);
  const removeOnExit = !!opts.removeOnExit;
  const monitored = await startMonitored({
    ...files,
    terminal: opts.terminal,
    stdinPipe: opts.stdinOpen,
    attachSocket: files.attachSocket,
    logLimits: opts.logLimits,
    exitKill: !opts.surviveMonitor,
    createCommand: (consoleSocket) => runtime.createCommand(id, dir, files.pidFile, consoleSocket),
    exitCommand: removeOnExit ? [installedBinary('berth'), '--root', ctx.root, '--config', ctx.configDir, 'rm', '--force', id] : undefined,
  });
  if (monitored.unbound) ctx.stderr.write(`berth: warning: the container would outlive its monitor, which could not tie it (${monitored.unbound})\n`);
  await runtime.start(id);
  return monitored;
}

/** "Up", "Exited (3)"...: what `ps` shows for a container's runtime status, exit file and monitor. */
export function statusText(status: string, exitCode: number | undefined, monitorLost = false): string {
  if (monitorLost) return status === 'running' ? 'Up (unsupervised)' : status === 'stopped' ? 'Exited (monitor died)' : `${statusText(status, exitCode)} (unsupervised)`;
  if (status === 'running') return 'Up';
  if (status === 'created') return 'Created';
  if (status === 'paused') return 'Paused';
  if (status === 'stopped') return exitCode !== undefined ? `Exited (${exitCode})` : 'Exited';
  return status;
}

/** Whether the container's monitor still supervises it (see `supervision`). */
export function supervisionOf(root: string, meta: ContainerMeta): 'supervised' | 'ended' | 'lost' {
  return supervision(meta.monitor, monitorFiles(join(containersDir(root), meta.id)).exitFile);
}

/** Says so on stderr when a container's monitor died; true then. */
export function warnIfUnsupervised(ctx: CliContext, meta: ContainerMeta, what: string): boolean {
  if (supervisionOf(ctx.root, meta) !== 'lost') return false;
  ctx.stderr.write(`berth: warning: the monitor of container ${meta.name} (pid ${meta.monitor!.pid}) died: ${what}\n`);
  return true;
}

/** Waits (bounded) until the monitor of a container that has ended has written its exit file. */
export async function monitorDone(root: string, meta: ContainerMeta, ms: number): Promise<void> {
  const files = monitorFiles(join(containersDir(root), meta.id));
  if (!existsSync(files.logFile)) return; // not a background container
  const deadline = Date.now() + ms;
  while (supervisionOf(root, meta) === 'supervised' && Date.now() < deadline) await delay(20);
}

/** The exit status a background container's monitor recorded. */
export function containerExitCode(root: string, id: string): number | undefined {
  return readExitFile(monitorFiles(join(containersDir(root), id)).exitFile);
}

/** docker's --tail: a number of lines, or "all" (and, as docker, anything else that is not a count). */
function tailCount(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

export async function logsCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const meta = findContainer(ctx.root, p.args[0]!);
  const files = monitorFiles(join(containersDir(ctx.root), meta.id));
  if (!existsSync(files.logFile) && !existsSync(`${files.logFile}.1`)) {
    throw precondition(`container ${quote(meta.name)} has no logs: only containers run with -d keep their output`, { field: 'container' });
  }
  const now = Date.now();
  const since = str(p.flags.since) !== undefined ? parseLogBound(str(p.flags.since)!, now, '--since') : undefined;
  const until = str(p.flags.until) !== undefined ? parseLogBound(str(p.flags.until)!, now, '--until') : undefined;
  if (since !== undefined && until !== undefined && until < since) throw invalid('--until is before --since', { field: '--until' });
  const lost = warnIfUnsupervised(ctx, meta, 'what the container wrote since then is lost');
  const out = new LogPrinter(ctx, !!p.flags.timestamps);
  let lostSeen = lost;
  const lines = readLog(files.logFile, {
    rotated: (meta.logLimits?.maxFiles ?? 1) - 1,
    tail: tailCount(str(p.flags.tail)),
    since,
    until,
    follow: !!p.flags.follow,
    // The monitor writes the exit file after the last log line: nothing more comes once it exists,
    // nor once the monitor is gone.
    ended: () => {
      const s = supervisionOf(ctx.root, meta);
      lostSeen ||= s === 'lost';
      return s !== 'supervised';
    },
  });
  for await (const batch of lines) await out.print(batch);
  if (lostSeen && !lost) warnIfUnsupervised(ctx, meta, 'what the container writes from now on is lost');
  return 0;
}

/** Writes lines to stdout or stderr by stream, in order, waiting when a reader is slow. */
class LogPrinter {
  /** Per stream: the last line printed was a piece of a longer one (no newline yet). */
  private readonly midLine: Record<LogStream, boolean> = { stdout: false, stderr: false };

  constructor(
    private readonly ctx: CliContext,
    private readonly timestamps: boolean,
  ) {}

  async print(lines: readonly LogLine[]): Promise<void> {
    let run = '';
    let runStream: LogStream | undefined;
    for (const l of lines) {
      if (runStream !== undefined && l.stream !== runStream) {
        await this.write(runStream, run);
        run = '';
      }
      runStream = l.stream;
      run += `${this.timestamps && !this.midLine[l.stream] ? `${timestamp(l.time)} ` : ''}${l.text}${l.partial ? '' : '\n'}`;
      this.midLine[l.stream] = !!l.partial;
    }
    if (runStream !== undefined && run) await this.write(runStream, run);
  }

  private async write(stream: LogStream, text: string): Promise<void> {
    const out = stream === 'stdout' ? this.ctx.stdout : this.ctx.stderr;
    if (!out.write(text)) await once(out, 'drain');
  }
}

/** docker's -t form: RFC 3339 in UTC with nine digits, whatever precision the file has. */
function timestamp(time: string): string {
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(time)) return time;
  const ns = parseLogTime(time);
  return ns === undefined ? time : formatLogTime(ns);
}

/** `berth attach`: the container's output here, our input there, until it ends (or ctrl-p ctrl-q). */
export async function attachCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const meta = findContainer(ctx.root, p.args[0]!);
  const dir = join(containersDir(ctx.root), meta.id);
  const files = monitorFiles(dir);
  if (!existsSync(files.attachSocket)) {
    throw precondition(`container ${quote(meta.name)} cannot be attached: it is not running in the background (run -d)`, { field: 'container' });
  }
  if (supervisionOf(ctx.root, meta) === 'lost') {
    throw precondition(`container ${meta.name} cannot be attached: its monitor (pid ${meta.monitor!.pid}) died; stop or remove it`, { field: 'container' });
  }
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
  await attach(files.attachSocket, { stdin: p.flags['no-stdin'] ? undefined : process.stdin, stdout: ctx.stdout, stderr: ctx.stderr, tty: !!spec.process?.terminal });
  // Detached (ctrl-p ctrl-q) or the container ended: then its status is ours, as docker's.
  await monitorDone(ctx.root, meta, 1000);
  return containerExitCode(ctx.root, meta.id) ?? 0;
}

export async function stopCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const grace = typeof p.flags.time === 'string' ? Number(p.flags.time) : 10;
  if (!Number.isInteger(grace) || grace < 0) throw precondition(`--time: ${quote(String(p.flags.time))} is not a number of seconds`, { field: '--time' });
  for (const key of p.args) {
    const meta = findContainer(ctx.root, key);
    const runtime = handlerFor(ctx, meta.runtime);
    if (runtime.exists(meta.id) && runtime.status(meta.id) !== 'stopped') {
      // Without its monitor nobody will record how it ended: it is stopped all the same.
      warnIfUnsupervised(ctx, meta, 'stopping the container anyway; its exit status will not be known');
      // As docker: SIGTERM to the container's init only, SIGKILL to everything in it.
      await runtime.kill(meta.id, 'SIGTERM');
      if (!(await stopped(runtime, meta.id, grace * 1000))) {
        await runtime.kill(meta.id, 'SIGKILL', true);
        await stopped(runtime, meta.id, 10_000);
      }
    }
    // `ps` right after shows how it ended: the monitor records that after the init exits.
    await monitorDone(ctx.root, meta, 2000);
    ctx.stdout.write(`${key}\n`);
  }
  return 0;
}

async function stopped(runtime: RuntimeHandler, id: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (runtime.status(id) === 'stopped') return true;
    if (Date.now() >= deadline) return false;
    await delay(50);
  }
}
