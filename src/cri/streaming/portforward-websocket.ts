// Port forwarding over WebSocket (the kubelet's v4.channel.k8s.io form): one pair of channels per
// port the request lists, data on 2i and error on 2i+1; the first message on each is the port as
// 2 bytes, little-endian. Each data channel goes to the backend; when every port is done, or the
// client goes, the WebSocket closes.
import type { StreamingBackend } from './backend.ts';
import type { WebSocketChannels } from './websocket-channels.ts';

export async function servePortForwardWebSocket(
  mux: WebSocketChannels,
  podSandboxId: string,
  ports: number[],
  backend: StreamingBackend,
): Promise<void> {
  await Promise.all(ports.map(async (port, i) => {
    const data = mux.channel(2 * i);
    const error = mux.channel(2 * i + 1);
    error.resume();
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    data.write(prefix);
    error.write(prefix);
    try {
      await backend.portForward(podSandboxId, port, data, mux.lost);
    } catch (err) {
      if (!mux.lost.aborted) error.write(`error forwarding port ${port} to pod ${podSandboxId}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      data.endReadable();
      if (!data.writableEnded) data.end();
      if (!error.writableEnded) error.end();
    }
  }));
  mux.close();
}
