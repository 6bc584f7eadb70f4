// The images a build reads (FROM bases, COPY --from and RUN --mount from= images): found in the
// store, or pulled when missing or when `--pull` asks for a fresh copy, then unpacked into
// snapshots so that steps can build on them.
import { BerthError } from '../../oci/errors.ts';
import type { Digest } from '../../oci/digest.ts';
import type { Descriptor, ImageConfig } from '../../oci/image-spec.ts';
import { chainIds } from '../../oci/image-chain-id.ts';
import { formatReference, parseReference } from '../../oci/reference.ts';
import type { ImageStore } from '../../image/image-store.ts';
import { resolveImage } from '../../image/image-resolve.ts';
import { pullImage, type PullOptions } from '../../image/pull.ts';
import { ensureSnapshots } from '../../image/unpack-image.ts';
import type { Lease } from '../../image/leases.ts';
import type { BuildPlatform } from '../../image/build/build-args.ts';

export interface BuildBase {
  ref: string;
  manifestDigest: Digest;
  config: ImageConfig;
  layers: { descriptor: Descriptor; diffId: Digest }[];
  /** Chain ids of the layers (snapshot keys), bottom first. */
  chain: Digest[];
}

export interface ResolveOptions {
  pull: boolean;
  pullOptions: PullOptions;
  lease: Lease;
  onPull?: (ref: string) => void;
}

export class BaseImages {
  private readonly found = new Map<string, Promise<BuildBase>>();

  constructor(
    private readonly store: ImageStore,
    private readonly opts: ResolveOptions,
  ) {}

  /** The image `ref` for `platform`, resolved once per build. */
  get(ref: string, platform?: BuildPlatform): Promise<BuildBase> {
    const key = `${ref} ${platform ? `${platform.os}/${platform.architecture}/${platform.variant ?? ''}` : ''}`;
    let p = this.found.get(key);
    if (!p) {
      p = this.resolve(ref, platform);
      this.found.set(key, p);
    }
    return p;
  }

  private async resolve(ref: string, platform?: BuildPlatform): Promise<BuildBase> {
    const name = formatReference(parseReference(ref, 'FROM'));
    const wanted = platform ? { os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) } : undefined;
    let local = this.opts.pull ? undefined : await resolveImage(this.store, name, wanted).catch((err: unknown) => {
      if (err instanceof BerthError && err.kind === 'not-found') return undefined;
      throw err;
    });
    if (!local) {
      this.opts.onPull?.(name);
      await pullImage(this.store, name, { ...this.opts.pullOptions, ...(wanted ? { platform: wanted } : {}) });
      local = await resolveImage(this.store, name, wanted);
    }
    const layers = local.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: local.config.rootfs.diff_ids[i]! }));
    const chain = layers.length ? await ensureSnapshots(this.store, layers, { lease: this.opts.lease }) : [];
    for (const c of chain) this.opts.lease.addSnapshot(c);
    for (const l of layers) this.opts.lease.addBlob(l.descriptor.digest);
    return { ref, manifestDigest: local.manifestDigest, config: local.config, layers, chain: chain.length ? chain : chainIds([]) };
  }
}
