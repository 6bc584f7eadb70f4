// Background containers' `logs`, `attach` and `stop`: the command line over the container
// service. A container whose monitor died is said to be so by the service's warnings.
import { quote } from '../../oci/quote.ts';
import { once } from 'node:events';
import { invalid, precondition } from '../../oci/errors.ts';
import { formatLogTime, parseLogTime, type LogLine, type LogStream } from '../../runtime/cri-log.ts';
import { parseLogBound } from '../../runtime/log-time.ts';
import { str, type Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';
import { withService } from './container-records.ts';
import { eachContainer } from './each-container.ts';

/** docker's --tail: a number of lines, or "all" (and, as docker, anything else that is not a count). */
function tailCount(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

export async function logsCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const now = Date.now();
  const since = str(p.flags.since) !== undefined ? parseLogBound(str(p.flags.since)!, now, '--since') : undefined;
  const until = str(p.flags.until) !== undefined ? parseLogBound(str(p.flags.until)!, now, '--until') : undefined;
  if (since !== undefined && until !== undefined && until < since) throw invalid('--until is before --since', { field: '--until' });
  return withService(ctx, {}, async (service) => {
    const out = new LogPrinter(ctx, !!p.flags.timestamps);
    const lines = service.logs(service.resolve(p.args[0]!), { tail: tailCount(str(p.flags.tail)), since, until, follow: !!p.flags.follow });
    for await (const batch of lines) await out.print(batch);
    return 0;
  });
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
  return withService(ctx, {}, async (service) => {
    const resizes = (listener: () => void): (() => void) => {
      process.on('SIGWINCH', listener);
      return () => void process.off('SIGWINCH', listener);
    };
    const exit = await service.attach(service.resolve(p.args[0]!), { stdin: p.flags['no-stdin'] ? undefined : process.stdin, stdout: ctx.stdout, stderr: ctx.stderr, resizes });
    // Detached (ctrl-p ctrl-q) or the container ended: then its status is ours, as docker's.
    return exit?.status ?? 0;
  });
}

export async function stopCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const grace = typeof p.flags.time === 'string' ? Number(p.flags.time) : 10;
  if (!Number.isInteger(grace) || grace < 0) throw precondition(`--time: ${quote(String(p.flags.time))} is not a number of seconds`, { field: '--time' });
  // As docker: the stop signal to the container's init, SIGKILL to everything in it after the grace period.
  return eachContainer(ctx, p, (service, id) => service.stop(id, { timeout: grace }));
}
