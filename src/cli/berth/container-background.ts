// Containers in the background: `berth run -d` (under berth-spawn --monitor, which keeps the
// output and the exit status in the container's directory), `berth logs` and `berth stop`.
import { existsSync, openSync, readFileSync, readSync, closeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { precondition } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import type { RuntimeHandler } from '../../runtime/runtime-handler.ts';
import { readExitFile, startMonitored } from '../../runtime/monitor.ts';
import { LogLineJoiner, parseCriLog, type LogLine } from '../../runtime/cri-log.ts';
import { attach } from '../../runtime/attach-client.ts';
import type { Spec } from '../../oci/runtime-spec.ts';
import type { Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';
import { containersDir, findContainer, handlerFor, installedBinary } from './container-records.ts';

/** Where a container's monitor keeps its files, inside the container's directory. */
export function monitorFiles(dir: string): { pidFile: string; logFile: string; exitFile: string; attachSocket: string } {
  return { pidFile: join(dir, 'init.pid'), logFile: join(dir, 'container.log'), exitFile: join(dir, 'exit-code'), attachSocket: join(dir, 'attach.sock') };
}

/**
 * Creates the container under a monitor, then starts it; berth may exit right after. With
 * `removeOnExit` the monitor runs `berth rm --force` once the container has ended (`run -d --rm`).
 */
export async function startInBackground(
  ctx: CliContext,
  runtime: RuntimeHandler,
  id: string,
  dir: string,
  opts: { removeOnExit?: boolean; terminal?: boolean; stdinOpen?: boolean } = {},
): Promise<void> {
  // berth's root, and so `dir`, is absolute (main.ts): the monitor outlives this working directory.
  const files = monitorFiles(dir);
  const removeOnExit = !!opts.removeOnExit;
  await startMonitored({
    ...files,
    terminal: opts.terminal,
    stdinPipe: opts.stdinOpen,
    attachSocket: files.attachSocket,
    createCommand: (consoleSocket) => runtime.createCommand(id, dir, files.pidFile, consoleSocket),
    exitCommand: removeOnExit ? [installedBinary('berth'), '--root', ctx.root, '--config', ctx.configDir, 'rm', '--force', id] : undefined,
  });
  await runtime.start(id);
}

/** "Up", "Exited (3)"...: what `ps` shows for a container's runtime status and exit file. */
export function statusText(status: string, exitCode: number | undefined): string {
  if (status === 'running') return 'Up';
  if (status === 'created') return 'Created';
  if (status === 'paused') return 'Paused';
  if (status === 'stopped') return exitCode !== undefined ? `Exited (${exitCode})` : 'Exited';
  return status;
}

/** Waits (bounded) for the monitor of a container that has ended to write its exit file. */
export async function monitorDone(dir: string, ms: number): Promise<void> {
  const files = monitorFiles(dir);
  if (!existsSync(files.logFile)) return; // not a background container
  const deadline = Date.now() + ms;
  while (readExitFile(files.exitFile) === undefined && Date.now() < deadline) await delay(20);
}

/** The exit status a background container's monitor recorded. */
export function containerExitCode(root: string, id: string): number | undefined {
  return readExitFile(monitorFiles(join(containersDir(root), id)).exitFile);
}

export async function logsCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const meta = findContainer(ctx.root, p.args[0]!);
  const files = monitorFiles(join(containersDir(ctx.root), meta.id));
  if (!existsSync(files.logFile)) {
    throw precondition(`container ${quote(meta.name)} has no logs: only containers run with -d keep their output`, { field: 'container' });
  }
  const print = (lines: LogLine[]): void => {
    for (const l of lines) (l.stream === 'stdout' ? ctx.stdout : ctx.stderr).write(`${p.flags.timestamps ? `${l.time} ` : ''}${l.text}\n`);
  };
  const joiner = new LogLineJoiner();
  const fd = openSync(files.logFile, 'r');
  try {
    let offset = 0;
    let carry = '';
    for (;;) {
      const ended = readExitFile(files.exitFile) !== undefined;
      const size = fstatSync(fd).size;
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        offset += readSync(fd, buf, 0, buf.length, offset);
        const text = carry + buf.toString('utf8');
        const cut = text.lastIndexOf('\n') + 1;
        carry = text.slice(cut);
        print(joiner.push(parseCriLog(text.slice(0, cut))));
        continue;
      }
      // The monitor writes the exit file after the last log line: nothing more comes once it exists.
      if (!p.flags.follow || ended) break;
      await delay(100);
    }
  } finally {
    closeSync(fd);
  }
  print(joiner.flush());
  return 0;
}

/** `berth attach`: the container's output here, our input there, until it ends (or ctrl-p ctrl-q). */
export async function attachCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const meta = findContainer(ctx.root, p.args[0]!);
  const dir = join(containersDir(ctx.root), meta.id);
  const files = monitorFiles(dir);
  if (!existsSync(files.attachSocket)) {
    throw precondition(`container ${quote(meta.name)} cannot be attached: it is not running in the background (run -d)`, { field: 'container' });
  }
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
  await attach(files.attachSocket, { stdin: p.flags['no-stdin'] ? undefined : process.stdin, stdout: ctx.stdout, stderr: ctx.stderr, tty: !!spec.process?.terminal });
  // Detached (ctrl-p ctrl-q) or the container ended: then its status is ours, as docker's.
  await monitorDone(dir, 1000);
  return containerExitCode(ctx.root, meta.id) ?? 0;
}

export async function stopCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const grace = typeof p.flags.time === 'string' ? Number(p.flags.time) : 10;
  if (!Number.isInteger(grace) || grace < 0) throw precondition(`--time: ${quote(String(p.flags.time))} is not a number of seconds`, { field: '--time' });
  for (const key of p.args) {
    const meta = findContainer(ctx.root, key);
    const runtime = handlerFor(ctx, meta.runtime);
    if (runtime.exists(meta.id) && runtime.status(meta.id) !== 'stopped') {
      // As docker: SIGTERM to the container's init only, SIGKILL to everything in it.
      await runtime.kill(meta.id, 'SIGTERM');
      if (!(await stopped(runtime, meta.id, grace * 1000))) {
        await runtime.kill(meta.id, 'SIGKILL', true);
        await stopped(runtime, meta.id, 10_000);
      }
    }
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
