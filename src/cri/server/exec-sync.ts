// ExecSync: a command in a running container, its output and exit code in the answer. Output is
// capped per stream (bounded-output.ts; the cut is logged); a timeout kills the process and what
// it started, and answers DeadlineExceeded as containerd does; once the process has exited the
// output drain is bounded too, so a background child holding the pipe cannot hang the call. A
// non-zero exit is an exit_code, not an error.
import type { Readable } from 'node:stream';
import { BerthError, invalid, precondition } from '../../oci/errors.ts';
import { BoundedOutput } from '../bounded-output.ts';
import type { CriContext } from './cri-context.ts';
import { criContainer, lifeOf } from './container-life.ts';
import type { UnaryRpc } from './rpc.ts';

/** How long output may still arrive after the process has exited. */
export const EXEC_SYNC_DRAIN_MS = 2000;

function collect(stream: Readable | null, into: BoundedOutput): Promise<void> {
  if (!stream) return Promise.resolve();
  stream.on('data', (chunk: Buffer) => into.push(chunk));
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

export function execSync(ctx: CriContext): UnaryRpc {
  return async (req: { container_id?: string; cmd?: string[]; timeout?: string | number }, rpc) => {
    const c = criContainer(ctx, req.container_id);
    const cmd = req.cmd ?? [];
    if (cmd.length === 0 || cmd[0] === '') throw invalid('cmd: required', { field: 'cmd' });
    if (lifeOf(ctx, c.id).state !== 'CONTAINER_RUNNING') throw precondition(`container ${c.id} is not running`, { field: 'container_id' });
    const timeoutS = Number(req.timeout ?? 0) || 0;
    const base = ctx.cri.service.process(c.id);
    if (!base) throw precondition(`container ${c.id} has no process to exec beside`, { field: 'container_id' });
    const { consoleSize: _unused, ...rest } = base;
    void _unused;
    const process = { ...rest, args: cmd, terminal: false };

    const stop = new AbortController();
    let timedOut = false;
    const timer = timeoutS > 0 ? setTimeout(() => ((timedOut = true), stop.abort()), timeoutS * 1000) : undefined;
    const cancelled = (): void => stop.abort();
    rpc.signal.addEventListener('abort', cancelled, { once: true });
    const stdout = new BoundedOutput();
    const stderr = new BoundedOutput();
    const streams: Readable[] = [];
    const drained: Promise<void>[] = [];
    let exitCode: number;
    try {
      exitCode = await ctx.cri.service.exec(c.id, process, {
        stdio: ['ignore', 'pipe', 'pipe'],
        signal: stop.signal,
        pipes: (p) => {
          for (const s of [p.stdout, p.stderr]) if (s) streams.push(s);
          drained.push(collect(p.stdout, stdout), collect(p.stderr, stderr));
        },
      });
      await Promise.race([Promise.all(drained), new Promise((r) => setTimeout(r, EXEC_SYNC_DRAIN_MS).unref())]);
    } finally {
      clearTimeout(timer);
      rpc.signal.removeEventListener('abort', cancelled);
      for (const s of streams) s.destroy();
    }
    if (timedOut) throw new BerthError('deadline-exceeded', `ExecSync in container ${c.id}: timeout ${timeoutS}s exceeded; the command was killed`, { op: 'exec' });
    for (const [name, out] of [['stdout', stdout], ['stderr', stderr]] as const) {
      if (out.truncated) ctx.log.warn('ExecSync output truncated', { container: c.id, stream: name, kept_bytes: out.cap, dropped_bytes: out.dropped });
    }
    return { stdout: stdout.bytes(), stderr: stderr.bytes(), exit_code: exitCode };
  };
}
