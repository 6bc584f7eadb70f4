// remotecommand over WebSocket: channels 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize, all
// there from the start. As the kubelet does, an empty message on the lowest output channel tells
// the client the connection is established. v4 and v5 carry JSON status; the others text.
import { finished } from 'node:stream/promises';
import type { StreamsWanted } from './remotecommand-spdy.ts';
import type { RemoteCommandChannels } from './remotecommand.ts';
import type { WebSocketChannels } from './websocket-channels.ts';

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;

export function websocketRemoteCommandChannels(mux: WebSocketChannels, wanted: StreamsWanted): RemoteCommandChannels {
  const stdin = mux.channel(CHANNEL.stdin);
  const stdout = mux.channel(CHANNEL.stdout);
  const stderr = mux.channel(CHANNEL.stderr);
  const error = mux.channel(CHANNEL.error);
  const resize = mux.channel(CHANNEL.resize);
  // Output channels carry nothing from the client: whatever comes is dropped.
  for (const c of [stdout, stderr, error]) c.resume();
  const hello = wanted.stdout ? stdout : wanted.stderr && !wanted.tty ? stderr : error;
  hello.write(Buffer.alloc(0));
  return {
    stdin: wanted.stdin ? stdin : undefined,
    stdout: wanted.stdout ? stdout : undefined,
    stderr: wanted.stderr && !wanted.tty ? stderr : undefined,
    resize,
    lost: mux.lost,
    writeStatus: async (content) => {
      if (content) error.write(content);
      error.end();
      await finished(error, { readable: false }).catch(() => undefined);
    },
    close: () => mux.close(),
  };
}
