// Port forwarding over SPDY (portforward.k8s.io): for each forwarded connection the client opens
// an `error` and a `data` stream carrying `port` and `requestID` headers. A pair is complete when
// both are open; its data stream is the connection to the port, handed to the backend. When the
// backend is done (the port's side closed) both streams end; when the client resets either, the
// backend's signal aborts. One SPDY connection carries any number of pairs until the client
// closes it.
import type { StreamingBackend } from './backend.ts';
import type { SpdyConnection } from './spdy-connection.ts';
import type { SpdyStream } from './spdy-stream.ts';
import { RST } from './spdy-frame.ts';

interface Pair {
  requestId: string;
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** The port header: a decimal 1-65535. */
export function parsePort(value: string | undefined): number | undefined {
  if (!value || !/^\d{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * The pair a stream belongs to. Old clients send no requestID; their two streams have
 * consecutive ids, error first (the kubelet's fallback).
 */
export function requestIdOf(stream: { id: number; header(name: string): string | undefined }): string {
  const id = stream.header('requestid');
  if (id) return id;
  return String(stream.header('streamtype') === 'data' ? stream.id - 2 : stream.id);
}

export function servePortForwardSpdy(
  conn: SpdyConnection,
  podSandboxId: string,
  backend: StreamingBackend,
  streamCreationTimeoutMs: number,
): void {
  const pairs = new Map<string, Pair>();
  const running = new Set<AbortController>();

  conn.on('close', (reason) => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
    for (const a of running) a.abort(reason ?? new Error('the client closed the connection'));
  });

  conn.on('stream', (stream) => {
    const type = stream.header('streamtype');
    if (parsePort(stream.header('port')) === undefined || (type !== 'error' && type !== 'data')) {
      stream.reset(RST.refusedStream);
      return;
    }
    stream.accept();
    if (type === 'error') stream.resume();
    const requestId = requestIdOf(stream);
    let pair = pairs.get(requestId);
    if (!pair) {
      const p: Pair = {
        requestId,
        timer: setTimeout(() => {
          pairs.delete(requestId);
          fail(p, `timed out waiting for the ${p.error ? 'data' : 'error'} stream of request ${requestId}`);
        }, streamCreationTimeoutMs),
      };
      pairs.set(requestId, p);
      pair = p;
    }
    if (pair[type]) {
      // A second stream of one type: the kubelet reports it on the pair's error stream.
      (pair.error ?? stream).write(`error processing stream for request ${requestId}: ${type} stream already assigned`);
      if (type === 'data') stream.reset();
      return;
    }
    pair[type] = stream;
    if (!pair.error || !pair.data) return;
    clearTimeout(pair.timer);
    pairs.delete(requestId);
    void forward(pair.error, pair.data);
  });

  async function forward(error: SpdyStream, data: SpdyStream): Promise<void> {
    const port = parsePort(data.header('port'))!;
    const abort = new AbortController();
    running.add(abort);
    const onReset = (): void => abort.abort(new Error('the client reset the stream'));
    error.once('reset', onReset);
    data.once('reset', onReset);
    try {
      await backend.portForward(podSandboxId, port, data, abort.signal);
    } catch (err) {
      if (!abort.signal.aborted) {
        // The kubelet's answer: JSON, telling newer clients whether to give up on the connection.
        const message = `error forwarding port ${port} to pod ${podSandboxId}: ${err instanceof Error ? err.message : String(err)}`;
        const code = (err as NodeJS.ErrnoException)?.code;
        error.write(`${JSON.stringify({ closeConnection: code !== 'EPIPE' && code !== 'ECONNRESET', message })}\n`);
      }
    } finally {
      running.delete(abort);
      error.off('reset', onReset);
      data.off('reset', onReset);
      if (!data.writableEnded) data.end();
      if (!error.writableEnded) error.end();
    }
  }

  function fail(p: Pair, message: string): void {
    p.error?.end(message);
    p.data?.reset();
  }
}
