// remotecommand over SPDY: the client opens one stream per channel, named by its `streamtype`
// header (error, stdin, stdout, stderr, resize), and waits for each reply before opening the
// next. The command starts once every stream the request implies is there: error always, the
// requested stdio, resize with a tty from v3 on. Until then a timer runs (30 s by default).
import { finished } from 'node:stream/promises';
import type { SpdyConnection } from './spdy-connection.ts';
import type { SpdyStream } from './spdy-stream.ts';
import type { RemoteCommandVersion } from './protocol-versions.ts';
import type { RemoteCommandChannels } from './remotecommand.ts';
import { BerthError } from '../../oci/errors.ts';

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

export interface StreamsWanted {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export function expectedStreamTypes(wanted: StreamsWanted, version: RemoteCommandVersion): Set<StreamType> {
  const types = new Set<StreamType>(['error']);
  if (wanted.stdin) types.add('stdin');
  if (wanted.stdout) types.add('stdout');
  if (wanted.stderr && !wanted.tty) types.add('stderr');
  if (wanted.tty && version >= 3) types.add('resize');
  return types;
}

/** Resolves with the channels once the expected streams are open; rejects on timeout or loss. */
export function spdyRemoteCommandChannels(
  conn: SpdyConnection,
  wanted: StreamsWanted,
  version: RemoteCommandVersion,
  timeoutMs: number,
): Promise<RemoteCommandChannels> {
  const expected = expectedStreamTypes(wanted, version);
  const got = new Map<StreamType, SpdyStream>();
  const lost = new AbortController();
  let closing = false;

  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      conn.destroy(new BerthError('unavailable', `the client opened ${[...got.keys()].join(', ') || 'no streams'} of ${[...expected].join(', ')} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on('close', (reason) => {
      clearTimeout(timer);
      if (!closing) lost.abort(reason ?? new BerthError('unavailable', 'the client closed the connection'));
      if (!ready) reject(lost.signal.reason);
    });
    conn.on('stream', (stream) => {
      stream.accept();
      const type = stream.header('streamtype') as StreamType | undefined;
      const used = !ready && type !== undefined && expected.has(type) && !got.has(type);
      // Only a stream the command reads is read; data on any other is dropped.
      if (!used || (type !== 'stdin' && type !== 'resize')) stream.resume();
      if (!used) return;
      got.set(type, stream);
      if (got.size < expected.size) return;
      ready = true;
      clearTimeout(timer);
      const error = got.get('error')!;
      const stdin = got.get('stdin');
      // Protocol v1 half-closed stdin towards the client at once (the kubelet still does).
      if (version === 1) stdin?.end();
      resolve({
        stdin,
        stdout: got.get('stdout'),
        stderr: got.get('stderr'),
        resize: got.get('resize'),
        lost: lost.signal,
        writeStatus: async (content) => {
          if (content) error.write(content);
          error.end();
          await finished(error, { readable: false }).catch(() => undefined);
        },
        close: () => {
          closing = true;
          conn.close();
        },
      });
    });
  });
}
