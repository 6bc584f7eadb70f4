// `berth build`: a Dockerfile and its context to an image in the store (tags from -t), then
// optionally pushed (--push) and/or written as an OCI layout or docker archive (--output).
// Progress goes to stderr as BuildKit's plain output does (`#N [stage i/n] INSTRUCTION`, the
// RUN output, `#N CACHED` or `#N DONE 1.2s`); the image digest goes to stdout.
import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BerthError, fromSystemError, invalid } from '../../oci/errors.ts';
import { familiarReference, parseReference } from '../../oci/reference.ts';
import { BuildCache } from '../../image/build-cache.ts';
import { collectGarbage, type GcResult } from '../../image/gc.ts';
import type { ImageStore } from '../../image/image-store.ts';
import { pushImage } from '../../image/push.ts';
import { saveImages } from '../../image/archive-export.ts';
import { treeBytes } from '../../image/tree-size.ts';
import { runBuild, type BuildEvent } from '../../containers/build/build-executor.ts';
import { cacheMountsDir } from '../../containers/build/cache-mounts.ts';
import { contextDigestsDir } from '../../containers/build/context-digest-cache.ts';
import { unpackContextTar } from '../../containers/build/context-tar.ts';
import { list, str, type Parsed } from './args.ts';
import { openStore, runtimeFor } from './container-records.ts';
import type { CliContext } from './image-commands.ts';

type Progress = 'auto' | 'plain' | 'quiet';

function keyValues(values: readonly string[], flag: string): [string, string][] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0) throw invalid(`--${flag} "${v}": expected KEY=VALUE`, { field: `--${flag}` });
    return [v.slice(0, eq), v.slice(eq + 1)];
  });
}

/** `--build-arg K=V`, or `--build-arg K` to take K from the environment (docker's rule). */
function buildArgs(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) {
      const fromEnv = process.env[v];
      if (fromEnv !== undefined) out.set(v, fromEnv);
    } else if (eq === 0) throw invalid(`--build-arg "${v}": expected KEY=VALUE`, { field: '--build-arg' });
    else out.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return out;
}

export interface OutputSpec {
  type: 'oci' | 'docker';
  dest: string;
}

/** `--output type=oci,dest=PATH` or `type=docker,dest=PATH`. */
export function parseOutput(value: string): OutputSpec {
  const fields = new Map(value.split(',').map((f) => [f.slice(0, f.indexOf('=') < 0 ? f.length : f.indexOf('=')), f.slice(f.indexOf('=') + 1)]));
  const type = fields.get('type');
  const dest = fields.get('dest');
  if ((type !== 'oci' && type !== 'docker') || !dest) throw invalid(`--output "${value}": expected type=oci,dest=PATH or type=docker,dest=PATH`, { field: '--output' });
  return { type, dest };
}

/** SOURCE_DATE_EPOCH from --build-arg or the environment, as BuildKit reads it. */
function sourceDateEpoch(args: ReadonlyMap<string, string>): number | undefined {
  const text = args.get('SOURCE_DATE_EPOCH') ?? process.env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw invalid(`SOURCE_DATE_EPOCH "${text}" is not a number of seconds`, { field: 'SOURCE_DATE_EPOCH' });
  return Number(text);
}

class PlainProgress {
  private readonly labels = new Map<number, string>();
  private readonly started = performance.now();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly quiet: boolean,
  ) {}

  event(e: BuildEvent): void {
    if (e.type === 'warning') {
      this.out.write(`WARNING: ${e.message}\n`);
      return;
    }
    if (this.quiet && e.type !== 'error') return;
    const t = ((performance.now() - this.started) / 1000).toFixed(3);
    switch (e.type) {
      case 'info':
        this.out.write(`${e.message}\n`);
        break;
      case 'step':
        this.labels.set(e.n, `${e.label} ${e.text}`);
        this.out.write(`#${e.n} ${e.label} ${e.text}\n`);
        break;
      case 'output':
        this.out.write(`#${e.n} ${t} ${e.line}\n`);
        break;
      case 'cached':
        this.out.write(`#${e.n} CACHED\n`);
        break;
      case 'done':
        this.out.write(`#${e.n} DONE ${e.seconds.toFixed(1)}s\n`);
        break;
      case 'error':
        this.out.write(`#${e.n} ERROR: ${e.message}\n------\n > ${this.labels.get(e.n) ?? `step ${e.n}`}:\n`);
        for (const l of e.lastLines) this.out.write(`${l}\n`);
        this.out.write('------\n');
        break;
    }
  }
}

export async function buildCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const progressMode = (str(p.flags.progress) ?? 'auto') as Progress;
  if (!['auto', 'plain', 'quiet'].includes(progressMode)) throw invalid(`--progress must be auto, plain or quiet, not "${progressMode}"`, { field: '--progress' });
  const quiet = progressMode === 'quiet' || p.flags.quiet === true;
  const network = str(p.flags.network) ?? 'none';
  if (network !== 'none' && network !== 'host' && network !== 'default') throw invalid(`--network must be none or host, not "${network}"`, { field: '--network' });
  const tags = list(p.flags.tag);
  for (const t of tags) parseReference(t, '--tag');
  const output = str(p.flags.output) !== undefined ? parseOutput(str(p.flags.output)!) : undefined;
  if (p.flags.push && tags.length === 0) throw invalid('--push needs at least one -t NAME (the registry comes from the name)', { field: '--push' });
  const args = buildArgs(list(p.flags['build-arg']));
  const epoch = sourceDateEpoch(args);
  const labels = keyValues(list(p.flags.label), 'label');
  const progress = new PlainProgress(ctx.stderr, quiet);

  // SIGINT/SIGTERM stop the build cleanly: the running RUN is killed, snapshots and mounts go.
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const store = openStore(ctx);
  let fromStdin: { dir: string; remove: () => void } | undefined;
  try {
    const contextArg = p.args[0]!;
    if (contextArg === '-') fromStdin = await unpackContextTar(createReadStream('', { fd: 0, autoClose: false }), store.tmpDir());
    const contextDir = fromStdin ? fromStdin.dir : resolve(contextArg);
    if (!fromStdin && !existsSync(contextDir)) throw new BerthError('not-found', `build context ${contextArg} does not exist`, { path: contextArg });
    const fileArg = str(p.flags.file);
    const dockerfilePath = fileArg ? (fromStdin ? join(contextDir, fileArg) : resolve(fileArg)) : join(contextDir, 'Dockerfile');
    let dockerfile: string;
    try {
      dockerfile = readFileSync(dockerfilePath, 'utf8');
    } catch (err) {
      throw fromSystemError(err, 'read Dockerfile', fileArg ?? 'Dockerfile');
    }
    const result = await runBuild(store, {
      contextDir,
      dockerfile,
      dockerfileName: fileArg ?? 'Dockerfile',
      tags,
      buildArgs: args,
      ...(str(p.flags.target) !== undefined ? { target: str(p.flags.target)! } : {}),
      noCache: p.flags['no-cache'] === true,
      pull: p.flags.pull === true,
      network: network === 'host' ? 'host' : 'none',
      labels,
      ...(epoch !== undefined ? { epoch } : {}),
      pullOptions: { configDir: ctx.configDir },
      runtime: runtimeFor(ctx),
      onEvent: (e) => progress.event(e),
      signal: interrupt.signal,
    });
    if (!quiet) {
      ctx.stderr.write(`writing image ${result.manifestDigest} done\n`);
      for (const n of result.names) ctx.stderr.write(`naming to ${familiarReference(parseReference(n))} done\n`);
    }
    if (output) {
      // saveImages names what it writes: a tag of the build, or a temporary name dropped after.
      const temp = result.names.length ? undefined : `localhost/berth-build-output:${result.manifestDigest.slice(7, 19)}`;
      if (temp) store.records.put({ name: temp, digest: result.manifestDigest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: result.manifestSize });
      try {
        await saveImages(store, [temp ?? result.names[0]!], { output: resolve(output.dest) });
      } finally {
        if (temp) store.records.delete(temp);
      }
      if (!quiet) ctx.stderr.write(`exporting to ${output.type} ${output.dest} done\n`);
    }
    if (p.flags.push) {
      for (const n of result.names) {
        const pushed = await pushImage(store, n, undefined, { configDir: ctx.configDir });
        if (!quiet) ctx.stderr.write(`pushed ${pushed.reference}@${pushed.digest}\n`);
      }
    }
    ctx.stdout.write(`${result.manifestDigest}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    fromStdin?.remove();
    store.close();
  }
}

export interface BuildCachePrune extends GcResult {
  records: number;
}

/** `berth image prune --build-cache`: every cache record and cache mount, then what only they held. */
export async function pruneBuildCache(store: ImageStore): Promise<BuildCachePrune> {
  const records = new BuildCache(store.db).clear();
  let mountBytes = 0;
  for (const dir of [cacheMountsDir(store.root), contextDigestsDir(store.root)]) {
    if (existsSync(dir)) mountBytes += treeBytes(dir);
    rmSync(dir, { recursive: true, force: true });
  }
  const gc = await collectGarbage(store, { staleIngestMs: 0 });
  return { ...gc, records, bytesFreed: gc.bytesFreed + mountBytes };
}
