// The side effects of `berth run`'s storage flags, at the edge: host paths checked and resolved
// before anything is made (a symlinked source is resolved once, here, so the container gets what
// the path named now), and, once the rootfs is mounted, the volumes made, pinned and filled from
// the image (the target resolved inside the rootfs: a symlink in the image never leads out).
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fromSystemError, invalid } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import { LayeredRootfs } from '../../image/rootfs-view.ts';
import { VolumeStore } from '../../containers/volume-store.ts';
import { nameVolumes, type MountRequest } from './run-storage.ts';

export type NamedRequest = ReturnType<typeof nameVolumes>[number];

/** Bind sources resolved on the host (realpath); one that does not exist is an error naming its flag. */
export function resolveHostSources(requests: readonly MountRequest[]): MountRequest[] {
  return requests.map((r) => {
    if (r.type !== 'bind') return r;
    try {
      return { ...r, source: realpathSync(r.source) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw invalid(`${r.flag}: the host path ${quote(r.source)} does not exist`, { field: r.flag, path: r.source, errno: code });
      throw fromSystemError(err, `${r.flag}: resolve`, r.source);
    }
  });
}

/** Anonymous volumes are named as docker names them: 64 random hex digits. */
export function namedRequests(requests: readonly MountRequest[]): NamedRequest[] {
  return nameVolumes(requests, () => randomBytes(32).toString('hex'));
}

/**
 * For a container whose rootfs is mounted at `rootfs`: every volume it mounts exists (named ones
 * are made on first use, as docker does) and is pinned to it, and a volume that is still empty
 * gets the image's content at its target unless `nocopy`. What this makes is undone on failure.
 */
export async function prepareVolumes(
  store: VolumeStore,
  requests: readonly NamedRequest[],
  containerId: string,
  rootfs: string,
  onUndo: (undo: () => unknown) => void,
): Promise<void> {
  const volumes = requests.filter((r): r is Extract<NamedRequest, { type: 'volume' }> => r.type === 'volume');
  if (!volumes.length) return;
  const image = new LayeredRootfs([rootfs]);
  await store.locked(async () => {
    for (const r of volumes) {
      const name = r.volumeName!;
      const { created } = store.create(name, r.anonymous ? { anonymousFor: containerId } : {});
      store.pin(name, containerId);
      onUndo(() =>
        store.locked(async () => {
          store.unpin(name, containerId);
          if (created) store.remove(name);
        }),
      );
      if (r.nocopy || !store.isEmpty(name)) continue;
      const found = await image.resolve(r.target).catch((err: Error) => {
        throw invalid(`${r.flag === 'VOLUME' ? "the image's VOLUME" : r.flag} ${r.target}: ${err.message}`, { field: r.flag });
      });
      if (found?.st.isDirectory()) await store.fill(name, found.path);
    }
  });
}
