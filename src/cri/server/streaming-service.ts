// berthd's streaming side in one piece: the HTTP streaming server from [streaming] (address, port
// 0 = any free one, idle timeout) over the container backend, and the three RPCs that hand out its
// URLs. berthd starts it with its container service and the lookup its pod and container stores
// answer, adds `rpcs` to the RuntimeService handlers, and closes it on shutdown.
import type { ContainerService } from '../../containers/service.ts';
import type { DaemonConfig } from '../daemon-config.ts';
import { ContainerStreamingBackend } from '../streaming/container-backend.ts';
import type { StreamingLookup } from '../streaming/streaming-lookup.ts';
import { StreamingServer } from '../streaming/streaming-server.ts';
import type { UnaryRpc } from './rpc.ts';
import { streamingRpcs } from './streaming-rpcs.ts';

export interface StreamingService {
  server: StreamingServer;
  rpcs: Record<'Exec' | 'Attach' | 'PortForward', UnaryRpc>;
  close(): Promise<void>;
}

export async function startStreamingService(config: DaemonConfig['streaming'], containers: ContainerService, lookup: StreamingLookup): Promise<StreamingService> {
  const server = new StreamingServer({
    backend: new ContainerStreamingBackend({ containers, lookup }),
    address: config.address,
    port: config.port,
    idleTimeoutMs: config.idleTimeoutMs,
  });
  await server.start();
  return { server, rpcs: streamingRpcs({ urls: server, lookup }), close: () => server.stop() };
}
