// Runs a build plan: the stages the target needs, level by level (the stages of a level at the
// same time), each step of a stage in order on the stage's layer chain. A layer step (RUN, COPY,
// ADD, WORKDIR) is looked up in the build cache by its key first: a hit reuses the recorded layer
// without running anything; a miss runs the step on a fresh snapshot and records its layer.
// Nothing is tagged unless every stage succeeded; a failed build removes its snapshots in flight.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../oci/errors.ts';
import type { Digest } from '../../oci/digest.ts';
import type { HistoryEntry } from '../../oci/image-spec.ts';
import { chainIds } from '../../oci/image-chain-id.ts';
import type { ImageStore } from '../../image/image-store.ts';
import { BuildCache, type BuildCacheRecord } from '../../image/build-cache.ts';
import { createLease, type Lease } from '../../image/leases.ts';
import { ensureSnapshots } from '../../image/unpack-image.ts';
import { unmountSnapshot } from '../../image/mount-snapshot.ts';
import { resolveImageUser } from '../../image/image-user.ts';
import { LayeredRootfs } from '../../image/rootfs-view.ts';
import type { PullOptions } from '../../image/pull.ts';
import { PRIVATE_DIR_MODE } from '../../image/store-permissions.ts';
import { parseDockerfile } from '../../image/build/parse-dockerfile.ts';
import { planBuild } from '../../image/build/plan-build.ts';
import { baseImagesNeeded, imagesOf } from '../../image/build/plan-images.ts';
import { cacheKeys, type StageKeys } from '../../image/build/cache-key.ts';
import type { BuildPlan, PlannedMount, PlannedStage, PlannedStep, SourceRef } from '../../image/build/plan-types.ts';
import type { Runtime } from '../../runtime/container.ts';
import { BaseImages, type BuildBase } from './base-images.ts';
import { BuildContext } from './build-context.ts';
import { CacheMounts, cacheMountsDir } from './cache-mounts.ts';
import { executeCopy } from './copy-step.ts';
import { commitImage, type CommittedImage, type LayerRef } from './image-commit.ts';
import { mkdirInRoot, resolveInRoot } from './rootfs-path.ts';
import { executeRun, RunFailedError, type RunMountSource } from './run-step.ts';
import { mountView, StepRootfs } from './step-snapshot.ts';
import { TreeCopier, type SourceTree } from './tree-copy.ts';
import { writeUpperLayer } from './upper-layer.ts';
import { pruneUnchangedDirs } from './copy-up-prune.ts';
import { fetchUrl, type FetchedUrl } from './url-fetch.ts';

export type BuildEvent =
  | { type: 'warning'; message: string }
  | { type: 'info'; message: string }
  | { type: 'step'; n: number; label: string; text: string }
  | { type: 'output'; n: number; line: string }
  | { type: 'cached'; n: number }
  | { type: 'done'; n: number; seconds: number }
  | { type: 'error'; n: number; message: string; lastLines: string[] };

export interface BuildRequest {
  contextDir: string;
  dockerfile: string;
  /** The Dockerfile's name in errors. */
  dockerfileName: string;
  tags: readonly string[];
  buildArgs: ReadonlyMap<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  network: 'none' | 'host';
  labels: readonly [string, string][];
  /** SOURCE_DATE_EPOCH: layer mtimes clamped to it, and every `created` set to it. */
  epoch?: number;
  pullOptions: PullOptions;
  runtime: Runtime;
  onEvent: (e: BuildEvent) => void;
  /** Aborting stops the build: a running RUN is killed, nothing more starts, nothing is tagged. */
  signal?: AbortSignal;
}

export interface BuildResult extends CommittedImage {
  plan: BuildPlan;
  /** Layer steps that were cache hits, and that ran. */
  cached: number;
  executed: number;
}

/** A stage's filesystem and history so far. */
interface ChainState {
  layers: LayerRef[];
  chain: Digest[];
  history: HistoryEntry[];
  lastCreated: string;
}

const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

const isoOf = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

export async function runBuild(store: ImageStore, req: BuildRequest): Promise<BuildResult> {
  const parsed = parseDockerfile(req.dockerfile, req.dockerfileName);
  const lease = createLease(store.db);
  const scratch = join(store.tmpDir(), `build-${randomUUID()}`);
  mkdirSync(scratch, { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    const executor = new Executor(store, req, lease, scratch);
    return await executor.run(parsed);
  } finally {
    unmountAllBelow(scratch);
    rmSync(scratch, { recursive: true, force: true });
    lease.release();
  }
}

class Executor {
  private readonly cache: BuildCache;
  private readonly bases: BaseImages;
  private readonly cacheMounts: CacheMounts;
  private readonly results = new Map<number, ChainState>();
  private readonly urls = new Map<string, Promise<FetchedUrl>>();
  private readonly abort = new AbortController();
  private readonly stepNumbers = new Map<string, number>();
  private context: BuildContext | undefined;
  private keys = new Map<number, StageKeys>();
  private cached = 0;
  private executed = 0;
  private readonly buildTime: string;

  constructor(
    private readonly store: ImageStore,
    private readonly req: BuildRequest,
    private readonly lease: Lease,
    private readonly scratch: string,
  ) {
    this.cache = new BuildCache(store.db);
    this.bases = new BaseImages(store, {
      pull: req.pull,
      pullOptions: req.pullOptions,
      lease,
      onPull: (ref) => req.onEvent({ type: 'info', message: `pulling ${ref}` }),
    });
    this.cacheMounts = new CacheMounts(cacheMountsDir(store.root));
    this.buildTime = req.epoch !== undefined ? isoOf(req.epoch) : new Date().toISOString();
    req.signal?.addEventListener('abort', () => this.abort.abort(), { once: true });
  }

  private fetchUrl = (url: string): Promise<FetchedUrl> => {
    let p = this.urls.get(url);
    if (!p) {
      p = fetchUrl(url, this.scratch);
      this.urls.set(url, p);
    }
    return p;
  };

  async run(parsed: ReturnType<typeof parseDockerfile>): Promise<BuildResult> {
    const planOpts = { buildArgs: this.req.buildArgs, ...(this.req.target !== undefined ? { target: this.req.target } : {}) };
    const needed = baseImagesNeeded(parsed, planOpts);
    const resolved = new Map<string, BuildBase>();
    for (const n of needed) resolved.set(n.ref, await this.bases.get(n.ref, n.platform));
    const plan = planBuild(parsed, {
      ...planOpts,
      baseImage: (ref) => {
        const b = resolved.get(ref);
        return b ? { config: b.config.config ?? {}, ...(b.config.author !== undefined ? { author: b.config.author } : {}) } : undefined;
      },
    });
    for (const w of plan.warnings) this.req.onEvent({ type: 'warning', message: `${w.line !== undefined ? `${plan.file}:${w.line}: ` : ''}${w.message}` });
    const imageDigests = new Map<string, Digest>();
    for (const ref of imagesOf(plan)) {
      const stage = plan.stages.find((s) => s.base.kind === 'image' && s.base.ref === ref);
      imageDigests.set(ref, (await this.bases.get(ref, stage?.platform)).manifestDigest);
    }
    const needsContext = plan.stages.some((s) => s.steps.some((st) => st.copy?.from.kind === 'context' || st.run?.mounts.some((m) => m.sourceRef?.kind === 'context')));
    if (needsContext) this.context = await BuildContext.load(this.req.contextDir, this.store.root);
    const contentDigests = this.context ? await this.context.contentDigests(plan, this.fetchUrl) : new Map<string, Digest[]>();
    this.keys = cacheKeys(plan, { imageDigests, contentDigests });

    let n = 0;
    for (const s of plan.stages) {
      this.stepNumbers.set(`${s.index}:from`, ++n);
      for (const st of s.steps) this.stepNumbers.set(st.id, ++n);
    }
    for (const level of plan.levels) {
      const settled = await Promise.allSettled(level.map((i) => this.buildStage(plan.stages.find((s) => s.index === i)!)));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    if (this.abort.signal.aborted) throw new BerthError('internal', 'build interrupted');
    const target = plan.stages.find((s) => s.index === plan.target)!;
    const state = this.results.get(plan.target)!;
    const image = await commitImage(
      this.store,
      {
        platform: target.platform,
        config: target.config,
        ...(target.author !== undefined ? { author: target.author } : {}),
        created: state.history.length ? state.history[state.history.length - 1]!.created ?? this.buildTime : this.buildTime,
        layers: state.layers,
        history: state.history,
        labels: this.req.labels,
      },
      this.req.tags,
      this.lease,
    );
    return { ...image, plan, cached: this.cached, executed: this.executed };
  }

  private label(stage: PlannedStage, index: number): string {
    return `[${stage.name ?? `stage-${stage.index}`} ${index + 1}/${stage.steps.length + 1}]`;
  }

  private async baseState(stage: PlannedStage): Promise<ChainState> {
    if (stage.base.kind === 'scratch') return { layers: [], chain: [], history: [], lastCreated: this.buildTime };
    if (stage.base.kind === 'stage') {
      const parent = this.results.get(stage.base.stage)!;
      return { layers: [...parent.layers], chain: [...parent.chain], history: [...parent.history], lastCreated: parent.lastCreated };
    }
    const base = await this.bases.get(stage.base.ref, stage.platform);
    return { layers: [...base.layers], chain: [...base.chain], history: [...(base.config.history ?? [])], lastCreated: this.req.epoch !== undefined ? this.buildTime : base.config.created ?? this.buildTime };
  }

  private async buildStage(stage: PlannedStage): Promise<void> {
    const fromText = stage.base.kind === 'image' ? stage.base.ref : stage.base.kind === 'scratch' ? 'scratch' : `stage-${stage.base.stage}`;
    const fromN = this.stepNumbers.get(`${stage.index}:from`)!;
    this.req.onEvent({ type: 'step', n: fromN, label: this.label(stage, 0), text: `FROM ${fromText}` });
    const state = await this.baseState(stage);
    this.req.onEvent({ type: 'done', n: fromN, seconds: 0 });
    const keys = this.keys.get(stage.index)!;
    for (const [i, step] of stage.steps.entries()) {
      if (this.abort.signal.aborted) throw new BerthError('internal', this.req.signal?.aborted ? 'build interrupted' : 'build stopped: another stage failed');
      const n = this.stepNumbers.get(step.id)!;
      this.req.onEvent({ type: 'step', n, label: this.label(stage, i + 1), text: step.instruction.original });
      if (!step.layer) {
        state.history.push({ created: state.lastCreated, created_by: step.createdBy, comment: HISTORY_COMMENT, empty_layer: true });
        this.req.onEvent({ type: 'done', n, seconds: 0 });
        continue;
      }
      const key = keys.steps[i]!;
      const hit = this.req.noCache ? undefined : await this.cacheHit(key, state);
      if (hit) {
        this.apply(state, step, hit.created, hit.layer);
        this.cached++;
        this.req.onEvent({ type: 'cached', n });
        continue;
      }
      const started = performance.now();
      let out: { layer?: LayerRef; chainId?: Digest };
      try {
        out = await this.executeStep(stage, step, state, n);
      } catch (err) {
        this.abort.abort();
        this.req.onEvent({ type: 'error', n, message: err instanceof BerthError ? err.describe() : String(err), lastLines: err instanceof RunFailedError ? err.lastLines : [] });
        throw err;
      }
      const created = this.req.epoch !== undefined ? this.buildTime : new Date().toISOString();
      this.apply(state, step, created, out.layer);
      this.cache.put({
        key,
        chainId: out.chainId ?? ('' as Digest),
        diffId: out.layer?.diffId ?? ('' as Digest),
        layer: out.layer?.descriptor ?? { mediaType: '', digest: '' as Digest, size: 0 },
        created,
      });
      this.executed++;
      this.req.onEvent({ type: 'done', n, seconds: (performance.now() - started) / 1000 });
    }
    this.results.set(stage.index, state);
  }

  private apply(state: ChainState, step: PlannedStep, created: string, layer: LayerRef | undefined): void {
    state.lastCreated = created;
    if (layer) {
      state.layers.push(layer);
      state.chain = chainIds(state.layers.map((l) => l.diffId));
      state.history.push({ created, created_by: step.createdBy, comment: HISTORY_COMMENT });
    } else {
      state.history.push({ created, created_by: step.createdBy, comment: HISTORY_COMMENT, empty_layer: true });
    }
  }

  /** A usable cache record for `key`: its layer blob is stored and its snapshot exists (or is unpacked again). */
  private async cacheHit(key: Digest, state: ChainState): Promise<{ created: string; layer?: LayerRef } | undefined> {
    const rec: BuildCacheRecord | undefined = this.cache.get(key);
    if (!rec) return undefined;
    if ((rec.layer.digest as string) === '') return { created: rec.created };
    const chain = chainIds([...state.layers.map((l) => l.diffId), rec.diffId]);
    if (chain[chain.length - 1] !== rec.chainId || !(await this.store.content.info(rec.layer.digest))) return undefined;
    const layer = { descriptor: rec.layer, diffId: rec.diffId };
    this.lease.addBlob(rec.layer.digest);
    this.lease.addSnapshot(rec.chainId);
    if (!this.store.snapshots.stat(rec.chainId)) {
      try {
        await ensureSnapshots(this.store, [...state.layers, layer], { lease: this.lease });
      } catch {
        return undefined;
      }
    }
    return { created: rec.created, layer };
  }

  private async executeStep(stage: PlannedStage, step: PlannedStep, state: ChainState, n: number): Promise<{ layer?: LayerRef; chainId?: Digest }> {
    const top = state.chain[state.chain.length - 1];
    const rootfs = await StepRootfs.open(this.store, top, this.scratch, this.lease);
    try {
      if (step.run) {
        await executeRun(step.run, {
          runtime: this.req.runtime,
          rootfs: rootfs.rootfs,
          scratch: this.scratch,
          network: this.req.network,
          cacheDir: (m) => this.cacheMounts.acquire(m),
          bindSource: (m) => this.bindSource(m),
          onOutput: (line) => this.req.onEvent({ type: 'output', n, line }),
          signal: this.abort.signal,
        });
      } else if (step.copy) {
        const source = await this.sourceTree(step.copy.from);
        try {
          await executeCopy(step.copy, {
            rootfs: rootfs.rootfs,
            source: source.tree,
            ...(step.copy.from.kind === 'context' && this.context ? { contextPaths: this.context.paths } : {}),
            scratch: this.scratch,
            fetchUrl: (url) => (step.copy!.checksum !== undefined ? fetchUrl(url, this.scratch, step.copy!.checksum) : this.fetchUrl(url)),
          });
        } finally {
          await source.release();
        }
      } else if (step.mkdir) {
        const user = await resolveImageUser(new LayeredRootfs([rootfs.rootfs]), step.mkdir.user);
        mkdirInRoot(rootfs.rootfs, resolveInRoot(rootfs.rootfs, step.mkdir.path), { uid: user.uid, gid: user.gid });
      }
      rootfs.unmount();
      const lowers = state.chain.map((id) => join(this.store.snapshots.snapshotsDir, String(this.store.snapshots.stat(id)!.id), 'fs')).reverse();
      if (pruneUnchangedDirs(rootfs.upperDir, lowers)) {
        // Nothing changed: no layer (BuildKit leaves empty layers out of the image too).
        await rootfs.discard();
        return {};
      }
      const built = await writeUpperLayer(this.store.content, rootfs.upperDir, { ...(this.req.epoch !== undefined ? { epoch: this.req.epoch } : {}) });
      this.lease.addBlob(built.descriptor.digest);
      const layer = { descriptor: built.descriptor, diffId: built.diffId };
      const chain = chainIds([...state.layers.map((l) => l.diffId), built.diffId]);
      const chainId = chain[chain.length - 1]!;
      this.lease.addSnapshot(chainId);
      await rootfs.commit(chainId);
      void stage;
      return { layer, chainId };
    } catch (err) {
      await rootfs.discard().catch(() => undefined);
      throw err;
    }
  }

  /** The files a COPY reads: the context, or a read-only view of a stage or an image. */
  private async sourceTree(ref: SourceRef): Promise<{ tree: SourceTree; release: () => Promise<void> }> {
    if (ref.kind === 'context') {
      if (!this.context) this.context = await BuildContext.load(this.req.contextDir, this.store.root);
      return { tree: this.context.tree, release: async () => undefined };
    }
    const top = ref.kind === 'stage' ? this.results.get(ref.stage)!.chain.at(-1) : (await this.bases.get(ref.ref)).chain.at(-1);
    const view = await mountView(this.store, top, this.scratch, this.lease);
    const what = ref.kind === 'stage' ? `stage ${ref.stage}` : `image ${ref.ref}`;
    return { tree: { root: view.root, preserveOwners: true, what }, release: view.release };
  }

  /** What a RUN bind mount shows: a private copy of context files, or a stage's or image's files. */
  private async bindSource(m: PlannedMount): Promise<RunMountSource> {
    if (!m.sourceRef || m.sourceRef.kind === 'context') {
      if (!this.context) this.context = await BuildContext.load(this.req.contextDir, this.store.root);
      return this.context.bindCopy(m, this.scratch);
    }
    const src = await this.sourceTree(m.sourceRef);
    const parts = resolveInRoot(src.tree.root, m.source ?? '/');
    const path = parts.length ? join(src.tree.root, ...parts) : src.tree.root;
    if (m.readOnly) return { path, release: src.release };
    // rw: the RUN may write, and its writes are dropped (BuildKit): a private copy.
    const dir = join(this.scratch, `bind-${randomUUID()}`);
    mkdirSync(dir, { mode: 0o700 });
    try {
      new TreeCopier(src.tree, dir, {}).copy(parts.join('/'), ['src'], true);
    } finally {
      await src.release();
    }
    return { path: join(dir, 'src'), release: async () => rmSync(dir, { recursive: true, force: true }) };
  }
}

/** Detaches whatever a failed step left mounted below `dir`, deepest first, before it is removed. */
function unmountAllBelow(dir: string): void {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const points = text
    .split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((p): p is string => !!p && p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    try {
      unmountSnapshot(p, true);
    } catch {
      // already gone
    }
  }
}
