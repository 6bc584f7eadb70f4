// berthd: the CRI's RuntimeService and ImageService on one unix socket, over berth's image store.
// Start-up checks what a bad config would break later (registries.conf parses, the socket is
// free); shutdown stops accepting, lets running calls finish for a grace period, then cuts them.
import { mkdirSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { fromSystemError } from '../oci/errors.ts';
import { ImageStore } from '../image/image-store.ts';
import { SnapshotUsage } from '../image/snapshot-usage.ts';
import { loadRegistriesConf } from '../image/registry-hosts.ts';
import type { DaemonConfig } from './daemon-config.ts';
import { loadCri } from './proto-load.ts';
import { rewritingConnection } from './server/authority-rewrite.ts';
import type { CriContext } from './server/cri-context.ts';
import { ImageCatalog } from './server/image-catalog.ts';
import type { Logger } from './server/logger.ts';
import { grpcHandlers, tolerantDefinition } from './server/rpc.ts';
import { imageServiceHandlers, runtimeServiceHandlers } from './server/services.ts';
import { listenUnix } from './server/socket-listener.ts';
import { criStreamingLookup } from './server/streaming-cri-lookup.ts';
import { startStreamingService } from './server/streaming-service.ts';
import { openCriState } from './server/cri-state.ts';
import { ContainerService } from '../containers/service.ts';
import { OciCliRuntimeHandler, type RuntimeHandler } from '../runtime/runtime-handler.ts';
import { join } from 'node:path';
import { watchContainerEvents } from './server/container-events.ts';
import { criLookup } from './server/lookup.ts';
import { SampleCache } from './stats/index.ts';
import { detectCgroupHost } from '../runtime/cgroups/index.ts';
import { prepareInfraRootfs } from './server/pod-infra.ts';
import { useSealedSpawnBinary } from '../sys/sealed-spawn.ts';
import { findOrphans, removeOrphans } from './server/reconcile.ts';

/** The kubelet's message cap (and containerd's and cri-o's). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const SHUTDOWN_GRACE_MS = 10_000;

export interface Daemon {
  socket: string;
  /** Stops serving: running calls get `graceMs` to finish. */
  close(graceMs?: number): Promise<void>;
}

export interface DaemonOptions {
  /** api.proto's location when it is not next to this module (a bundle). */
  protoPath?: string;
}

export async function startDaemon(config: DaemonConfig, log: Logger, opts: DaemonOptions = {}): Promise<Daemon> {
  // A broken registries.conf stops the daemon now rather than failing every pull later.
  loadRegistriesConf(config.registriesConfig);
  try {
    mkdirSync(config.state, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fromSystemError(err, 'mkdir', config.state);
  }
  const cri = loadCri(opts.protoPath);
  const store = ImageStore.open(config.root, { warn: (message) => log.warn(message) });
  const warn = (message: string): void => log.warn(message);
  const handlers: Record<string, RuntimeHandler> = {};
  for (const [name, entry] of Object.entries(config.runtimes)) {
    if (entry.path) handlers[name] = new OciCliRuntimeHandler(name, entry.path, join(config.state, 'runtimes', name), entry.args);
  }
  // Monitors and helpers share one sealed copy of berth-spawn rather than making one each.
  useSealedSpawnBinary();
  // Every live container's monitor is watched: exits arrive as events, statuses come from memory.
  const service = ContainerService.open({ root: config.root, images: store, warn, handlers, watch: true });
  const state = openCriState(config, service, warn, prepareInfraRootfs(config.root));
  const usage = new SnapshotUsage(store);
  const ctx: CriContext = {
    config,
    store,
    images: new ImageCatalog(store),
    usage,
    log,
    registries: () => loadRegistriesConf(config.registriesConfig),
    runtime: { podCidr: '' },
    cri: state,
    lookup: criLookup({ cri: state }),
    stats: { host: await detectCgroupHost(), cache: new SampleCache(), layers: usage },
  };
  const stopEvents = watchContainerEvents(ctx);
  const leftovers = await findOrphans(ctx);
  let streaming;
  try {
    streaming = await startStreamingService(config.streaming, service, criStreamingLookup(ctx));
  } catch (err) {
    stopEvents();
    service.close();
    store.close();
    throw err;
  }
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  server.addService(tolerantDefinition(cri.runtimeService), grpcHandlers(cri.runtimeService, runtimeServiceHandlers(ctx, streaming.rpcs), log));
  server.addService(tolerantDefinition(cri.imageService), grpcHandlers(cri.imageService, imageServiceHandlers(ctx), log));
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  let listener;
  try {
    listener = await listenUnix(config.listen, (socket) => {
      injector.injectConnection(
        rewritingConnection(socket, (err) => log.info('connection closed: malformed HTTP/2 from client', { error: err instanceof Error ? err.message : String(err) })),
      );
    });
  } catch (err) {
    server.forceShutdown();
    await streaming.close();
    stopEvents();
    service.close();
    store.close();
    throw err;
  }
  await removeOrphans(ctx, leftovers);
  log.info('berthd serving', { socket: config.listen, root: config.root, state: config.state, registries_config: config.registriesConfig, streaming: `${config.streaming.address}:${streaming.server.port}` });

  let closing: Promise<void> | undefined;
  const close = (graceMs = SHUTDOWN_GRACE_MS): Promise<void> =>
    (closing ??= (async () => {
      ctx.cri.shutdown.abort();
      const stopped = listener.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      // Connections grpc-js never took over (a client that sent nothing) must not keep us alive.
      listener.destroyConnections();
      await stopped;
      await streaming.close();
      stopEvents();
      service.close();
      store.close();
      log.info('berthd stopped', { socket: config.listen });
    })());
  return { socket: config.listen, close };
}
