// What `berth run` and the CRI need from images: a writable rootfs for a container (an active
// snapshot over the image's layer chain, unpacked from the content store if needed) with its mount
// spec, the image config, and the image's User resolved against the image's own files.
import { BerthError } from '../oci/errors.ts';
import type { ImageConfig, Platform } from '../oci/image-spec.ts';
import type { Digest } from '../oci/digest.ts';
import type { ImageStore } from './image-store.ts';
import { resolveImage } from './image-resolve.ts';
import { ensureSnapshots } from './unpack-image.ts';
import type { MountSpec } from './mount-spec.ts';
import { LayeredRootfs } from './rootfs-view.ts';
import { resolveImageUser, type ResolvedUser } from './image-user.ts';
import { join } from 'node:path';

export interface PreparedRootfs {
  /** The container's snapshot key (remove it with `store.snapshots.remove(key)`). */
  key: string;
  mount: MountSpec;
  imageConfig: ImageConfig;
  imageName: string;
  manifestDigest: Digest;
  /** `User` of the image (or `userOverride`) resolved in the image's /etc/passwd and /etc/group. */
  user: ResolvedUser;
}

export async function prepareRootfs(
  store: ImageStore,
  imageRef: string,
  opts: { key: string; platform?: Platform; userOverride?: string },
): Promise<PreparedRootfs> {
  const img = await resolveImage(store, imageRef, opts.platform);
  const jobs = img.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: img.config.rootfs.diff_ids[i]! }));
  const chain = await ensureSnapshots(store, jobs);
  const top = chain[chain.length - 1];
  const layerDirs = chain.map((id) => join(store.snapshots.snapshotsDir, String(store.snapshots.stat(id)!.id), 'fs')).reverse();
  const user = await resolveImageUser(new LayeredRootfs(layerDirs), opts.userOverride ?? img.config.config?.User);
  let mount: MountSpec;
  try {
    mount = await store.snapshots.prepare(opts.key, top);
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new BerthError('internal', `prepare rootfs for ${opts.key}: ${String(err)}`);
  }
  return { key: opts.key, mount, imageConfig: img.config, imageName: img.record.name, manifestDigest: img.manifestDigest, user };
}
