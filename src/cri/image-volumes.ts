// Anonymous volumes for the image config's `Volumes` that no request mount covers (containerd
// does the same unless told to ignore image volumes): one directory each under the container's
// volume dir, which the caller creates (and fills from the image) before the container starts.
import type { ImageRunConfig } from '../oci/image-spec.ts';
import { containerPath } from './container-paths.ts';
import type { Mount } from './cri-types.ts';

export interface ImageVolume {
  containerPath: string;
  hostPath: string;
}

export function imageVolumes(image: ImageRunConfig, requestMounts: Mount[], volumeDir: string): ImageVolume[] {
  const covered = new Set(
    requestMounts.flatMap((m) => {
      try {
        return [containerPath(m.container_path, 'mount')];
      } catch {
        return []; // reported by the mount checks
      }
    }),
  );
  const out: ImageVolume[] = [];
  for (const raw of Object.keys(image.Volumes ?? {}).sort()) {
    // Docker accepts "data" for "/data".
    const dest = containerPath(raw.startsWith('/') ? raw : `/${raw}`, `image.config.Volumes[${JSON.stringify(raw)}]`);
    if (dest === '/' || covered.has(dest) || out.some((v) => v.containerPath === dest)) continue;
    out.push({ containerPath: dest, hostPath: `${volumeDir}/${out.length}` });
  }
  return out;
}
