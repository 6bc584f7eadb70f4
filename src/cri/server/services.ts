// The RPCs berthd answers, by the names api.proto gives them. What is not listed here answers
// Unimplemented (rpc.ts) until the container service provides it.
import type { CriContext } from './cri-context.ts';
import { imageFsInfo } from './image-fs-info.ts';
import { listImages, streamImages } from './image-list.ts';
import { pullImage } from './image-pull.ts';
import { removeImage } from './image-remove.ts';
import { imageStatus } from './image-status.ts';
import type { ServiceHandlers } from './rpc.ts';
import { runtimeConfig, updateRuntimeConfig } from './runtime-config.ts';
import { runtimeStatus } from './runtime-status.ts';
import { version } from './runtime-version.ts';

export function runtimeServiceHandlers(ctx: CriContext): ServiceHandlers {
  return {
    unary: {
      Version: version,
      Status: runtimeStatus(ctx),
      RuntimeConfig: runtimeConfig,
      UpdateRuntimeConfig: updateRuntimeConfig(ctx),
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
