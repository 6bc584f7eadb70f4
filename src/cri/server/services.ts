// The RPCs berthd answers, by the names api.proto gives them. What is not listed here answers
// Unimplemented (rpc.ts) until the container service provides it.
import type { CriContext } from './cri-context.ts';
import { createContainer } from './container-create.ts';
import { getContainerEvents } from './container-events-rpc.ts';
import { reopenContainerLog } from './container-log-reopen.ts';
import { updateContainerResources } from './container-update.ts';
import { execSync } from './exec-sync.ts';
import { containerStatus, listContainers } from './container-list.ts';
import { removeContainer } from './container-remove.ts';
import { startContainer } from './container-start.ts';
import { stopContainer } from './container-stop.ts';
import { listPodSandbox, podSandboxStatus } from './pod-list.ts';
import { removePodSandbox } from './pod-remove.ts';
import { runPodSandbox } from './pod-run.ts';
import { stopPodSandbox } from './pod-stop.ts';
import { imageFsInfo } from './image-fs-info.ts';
import { listImages, streamImages } from './image-list.ts';
import { pullImage } from './image-pull.ts';
import { removeImage } from './image-remove.ts';
import { imageStatus } from './image-status.ts';
import type { ServiceHandlers, UnaryRpc } from './rpc.ts';
import { containerStatsRpc, listContainerStats, listPodSandboxStats, podSandboxStatsRpc, streamContainerStats, streamPodSandboxStats } from './stats-rpc.ts';
import { runtimeConfig, updateRuntimeConfig } from './runtime-config.ts';
import { runtimeStatus } from './runtime-status.ts';
import { version } from './runtime-version.ts';

/** `streaming`: Exec, Attach and PortForward from the streaming service (streaming-service.ts). */
export function runtimeServiceHandlers(ctx: CriContext, streaming: Record<string, UnaryRpc> = {}): ServiceHandlers {
  return {
    unary: {
      ...streaming,
      Version: version,
      Status: runtimeStatus(ctx),
      RuntimeConfig: runtimeConfig,
      UpdateRuntimeConfig: updateRuntimeConfig(ctx),
      RunPodSandbox: runPodSandbox(ctx),
      StopPodSandbox: stopPodSandbox(ctx),
      RemovePodSandbox: removePodSandbox(ctx),
      PodSandboxStatus: podSandboxStatus(ctx),
      ListPodSandbox: listPodSandbox(ctx),
      CreateContainer: createContainer(ctx),
      StartContainer: startContainer(ctx),
      StopContainer: stopContainer(ctx),
      RemoveContainer: removeContainer(ctx),
      ListContainers: listContainers(ctx),
      ContainerStatus: containerStatus(ctx),
      ExecSync: execSync(ctx),
      ReopenContainerLog: reopenContainerLog(ctx),
      UpdateContainerResources: updateContainerResources(ctx),
      ContainerStats: containerStatsRpc(ctx),
      ListContainerStats: listContainerStats(ctx),
      PodSandboxStats: podSandboxStatsRpc(ctx),
      ListPodSandboxStats: listPodSandboxStats(ctx),
    },
    streaming: {
      GetContainerEvents: getContainerEvents(ctx),
      StreamContainerStats: streamContainerStats(ctx),
      StreamPodSandboxStats: streamPodSandboxStats(ctx),
    },
  };
}

export function imageServiceHandlers(ctx: CriContext): ServiceHandlers {
  return {
    unary: {
      ListImages: listImages(ctx),
      ImageStatus: imageStatus(ctx),
      PullImage: pullImage(ctx),
      RemoveImage: removeImage(ctx),
      ImageFsInfo: imageFsInfo(ctx),
    },
    streaming: { StreamImages: streamImages(ctx) },
  };
}
