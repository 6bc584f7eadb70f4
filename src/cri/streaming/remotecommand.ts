// Exec and attach once the client's streams are in place, whatever carries them (SPDY streams or
// WebSocket channels): run the backend with the streams the request asked for, then finish the
// output streams, write how it ended on the error stream and close the connection. A client that
// goes away first aborts the backend through its signal and gets nothing more.
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { AttachRequest, ExecRequest, ProcessStreams, StreamingBackend } from './backend.ts';
import { statusJson, statusText, type Outcome } from './remotecommand-status.ts';
import type { RemoteCommandVersion } from './protocol-versions.ts';
import { TerminalSizeQueue } from './terminal-size.ts';

export type RemoteCommand = { kind: 'exec'; req: ExecRequest } | { kind: 'attach'; req: AttachRequest };

/** The client's side of one exec or attach, as its transport delivers it. */
export interface RemoteCommandChannels {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** The raw resize stream (JSON sizes), when the client opened one. */
  resize?: Readable;
  /** Writes the error stream's content (possibly empty) and ends it. */
  writeStatus(content: string): Promise<void>;
  /** Ends the connection in order, once the status is written. */
  close(): void;
  /** Aborts when the connection is lost before `close`. */
  lost: AbortSignal;
}

export async function serveRemoteCommand(
  command: RemoteCommand,
  channels: RemoteCommandChannels,
  backend: StreamingBackend,
  version: RemoteCommandVersion,
): Promise<void> {
  const { req } = command;
  const abort = new AbortController();
  const onLost = (): void => abort.abort(channels.lost.reason);
  if (channels.lost.aborted) return;
  channels.lost.addEventListener('abort', onLost, { once: true });

  const streams: ProcessStreams = {};
  if (req.stdin && channels.stdin) streams.stdin = channels.stdin;
  else channels.stdin?.resume();
  if (req.stdout && channels.stdout) streams.stdout = channels.stdout;
  if (req.stderr && !req.tty && channels.stderr) streams.stderr = channels.stderr;
  if (channels.resize) {
    if (req.tty) streams.resize = new TerminalSizeQueue(channels.resize);
    else channels.resize.resume();
  }

  let outcome: Outcome;
  try {
    if (command.kind === 'exec') {
      const { exitCode } = await backend.exec(command.req, streams, abort.signal);
      outcome = exitOutcome(exitCode);
    } else {
      await backend.attach(command.req, streams, abort.signal);
      outcome = { kind: 'success' };
    }
  } catch (err) {
    outcome = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  } finally {
    channels.lost.removeEventListener('abort', onLost);
  }
  if (abort.signal.aborted) return;
  await Promise.all([endOutput(channels.stdout), endOutput(channels.stderr)]);
  await channels.writeStatus(version >= 4 ? statusJson(outcome) : statusText(outcome)).catch(() => undefined);
  channels.close();
}

function exitOutcome(code: number): Outcome {
  if (code === 0) return { kind: 'success' };
  // client-go parses the code as an unsigned 8-bit number.
  if (!Number.isInteger(code) || code < 0 || code > 255) return { kind: 'error', message: `the backend reported exit code ${code}, not one of 0-255` };
  return { kind: 'exit', code };
}

/** Ends an output stream and waits until everything written has gone to the connection. */
async function endOutput(w: Writable | undefined): Promise<void> {
  if (!w || w.writableFinished || w.destroyed) return;
  w.end();
  await finished(w, { readable: false }).catch(() => undefined);
}
