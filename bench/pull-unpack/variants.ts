// The four ways the benchmark gets the image from the registry onto disk, unpacked. Each runs into
// a fresh directory of its own, is timed as a caller sees it, and names the directories holding
// the unpacked files so that the benchmark can check they are complete.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner } from './bench-lib.ts';
import type { BenchImage } from './bench-image.ts';
import { startContainerd, type ContainerdDaemon } from './containerd-daemon.ts';
import { snapshotFsDirs } from './tree-census.ts';

export interface RunResult {
  ms: number;
  /** Sub-steps of a variant made of several commands. */
  parts?: Record<string, number>;
  /** Directories whose files together make up the unpacked image. */
  outputs: string[];
}

export interface VariantContext {
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  image: BenchImage;
  registryUrl: string;
  /** host:port/repository */
  repository: string;
  tag: string;
  berth: string;
  /** Daemons started and not yet stopped, for clean-up on failure or Ctrl-C. */
  liveDaemons: Set<ContainerdDaemon>;
}

export interface Variant {
  key: string;
  label: string;
  run(ctx: VariantContext, dir: string, round: string): Promise<RunResult>;
}

const ref = (ctx: VariantContext): string => `${ctx.repository}:${ctx.tag}`;

function berthPull(key: string, label: string, cli: (ctx: VariantContext) => string): Variant {
  return {
    key,
    label,
    run: async (ctx, dir) => {
      const ms = ctx.runner.time(cli(ctx), ['--root', dir, 'pull', ref(ctx)]);
      return { ms, outputs: snapshotFsDirs(join(dir, 'snapshots')) };
    },
  };
}

export const berth = berthPull('berth', 'berth pull', (ctx) => ctx.berth);

/** Another berth build (--compare FILE), e.g. the code before a change, measured in the same run. */
export function berthCompare(file: string): Variant {
  return berthPull('berth-compare', `berth pull (--compare ${file})`, () => file);
}

export const containerd: Variant = {
  key: 'containerd',
  label: 'containerd (ctr images pull)',
  run: async (ctx, dir, round) => {
    // A fresh daemon and root per round: the content store is shared by all namespaces, so a
    // second pull into the same root would find every blob already there.
    const daemon = await startContainerd(dir, ctx.env);
    ctx.liveDaemons.add(daemon);
    try {
      const ms = ctx.runner.time('ctr', ['-a', daemon.socket, '-n', `bench-${round}`, 'images', 'pull', '--plain-http', ref(ctx)]);
      return { ms, outputs: snapshotFsDirs(daemon.snapshotsDir) };
    } finally {
      await daemon.stop();
      ctx.liveDaemons.delete(daemon);
    }
  },
};

export const skopeoUmoci: Variant = {
  key: 'skopeo-umoci',
  label: 'skopeo copy + umoci unpack',
  run: async (ctx, dir) => {
    mkdirSync(dir, { recursive: true });
    const layout = join(dir, 'layout');
    const bundle = join(dir, 'bundle');
    const skopeo = ctx.runner.time('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref(ctx)}`, `oci:${layout}:x`]);
    const umoci = ctx.runner.time('umoci', ['unpack', '--image', `${layout}:x`, bundle]);
    return { ms: skopeo + umoci, parts: { skopeo, umoci }, outputs: [join(bundle, 'rootfs')] };
  },
};

/**
 * The floor: the manifest with curl, then every blob with curl at once, then `tar -xzf` of each
 * layer in order into one directory. No verification, no fsync, no bookkeeping.
 */
export const curlTar: Variant = {
  key: 'curl-tar',
  label: 'floor: curl (parallel) + tar -xzf',
  run: async (ctx, dir) => {
    mkdirSync(dir, { recursive: true });
    const script = join(dir, 'floor.sh');
    writeFileSync(script, floorScript(ctx, dir));
    const ms = ctx.runner.time('sh', [script]);
    return { ms, outputs: [join(dir, 'rootfs')] };
  },
};

export function floorScript(ctx: VariantContext, dir: string): string {
  const repoPath = ctx.repository.slice(ctx.repository.indexOf('/') + 1);
  const base = `${ctx.registryUrl}/v2/${repoPath}`;
  const blobs = [ctx.image.config, ...ctx.image.layers];
  const lines = [
    'set -eu',
    `cd ${dir}`,
    `curl -fsS -o manifest.json -H 'Accept: application/vnd.oci.image.manifest.v1+json' ${base}/manifests/${ctx.tag}`,
    ...blobs.map((b, i) => `curl -fsS -o blob${i} ${base}/blobs/${b.digest} & p${i}=$!`),
    ...blobs.map((_, i) => `wait $p${i}`),
    'mkdir rootfs',
    ...ctx.image.layers.map((_, i) => `tar -xzf blob${i + 1} -C rootfs`),
    '',
  ];
  return lines.join('\n');
}

export const ALL_VARIANTS: readonly Variant[] = [berth, containerd, skopeoUmoci, curlTar];
