// The build context as the executor uses it: walked once (.dockerignore applied, symlinks never
// followed, file digests for cache keys), the set of paths COPY may read, the content digests of
// what each step reads, and private copies for RUN bind mounts of the context.
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { notFound } from '../../oci/errors.ts';
import type { Digest } from '../../oci/digest.ts';
import { walkContext, type ContextEntry } from '../../image/build/context-walk.ts';
import { contextPath, digestSources } from '../../image/build/context-digest.ts';
import { contentNeeded } from '../../image/build/cache-key.ts';
import type { BuildPlan, PlannedMount } from '../../image/build/plan-types.ts';
import { checkInContext, resolveInRoot, statInRoot } from './rootfs-path.ts';
import { ContextDigestCache } from './context-digest-cache.ts';
import { TreeCopier, type SourceTree } from './tree-copy.ts';
import type { FetchedUrl } from './url-fetch.ts';
import type { RunMountSource } from './run-step.ts';

const URL_RE = /^https?:\/\//;

export class BuildContext {
  private constructor(
    readonly dir: string,
    readonly entries: readonly ContextEntry[],
    readonly allowed: ReadonlySet<string>,
  ) {}

  /** Walks the context; `storeRoot` keeps file digests between builds (context-digest-cache.ts). */
  static async load(dir: string, storeRoot?: string): Promise<BuildContext> {
    const digestCache = storeRoot ? new ContextDigestCache(storeRoot, dir) : undefined;
    const entries = await walkContext(dir, { digests: true, ...(digestCache ? { digestCache } : {}) });
    digestCache?.save();
    return new BuildContext(dir, entries, new Set(entries.map((e) => e.path)));
  }

  get tree(): SourceTree {
    return { root: this.dir, allowed: this.allowed, preserveOwners: false, what: 'build context' };
  }

  get paths(): string[] {
    return this.entries.map((e) => e.path);
  }

  /** A source path with its symlinks resolved inside the context (what COPY will read). */
  private resolved(source: string, what: string): string {
    checkInContext(source, what);
    const rel = contextPath(source);
    if (/[*?[]/.test(rel) || rel === '') return rel;
    return resolveInRoot(this.dir, rel).join('/');
  }

  /** Content digests of every step that reads the context or an unchecked URL, by step id. */
  async contentDigests(plan: BuildPlan, fetchUrl: (url: string) => Promise<FetchedUrl>): Promise<Map<string, Digest[]>> {
    const out = new Map<string, Digest[]>();
    for (const stage of plan.stages) {
      for (const step of stage.steps) {
        if (!contentNeeded(step)) continue;
        const what = step.instruction.kind.toUpperCase();
        const digests: Digest[] = [];
        if (step.copy) {
          const local = step.copy.sources.filter((s) => !URL_RE.test(s));
          if (local.length) digests.push(digestSources(this.entries, local.map((s) => this.resolved(s, what))));
          for (const s of step.copy.sources) if (URL_RE.test(s) && !step.copy.checksum) digests.push((await fetchUrl(s)).digest);
        }
        for (const m of step.run?.mounts ?? []) {
          if (m.sourceRef?.kind === 'context') digests.push(digestSources(this.entries, [this.resolved(m.source ?? '.', 'RUN --mount')]));
        }
        out.set(step.id, digests);
      }
    }
    return out;
  }

  /** A private copy of what a RUN bind-mounts from the context (only what .dockerignore lets through). */
  bindCopy(m: PlannedMount, scratch: string): RunMountSource {
    const rel = this.resolved(m.source ?? '.', 'RUN --mount');
    const st = statInRoot(this.dir, rel === '' ? [] : rel.split('/'));
    if (!st || (rel !== '' && !this.allowed.has(rel))) throw notFound(`RUN --mount=type=bind,source=${m.source ?? '.'}: not found in the build context (or excluded by .dockerignore)`, { path: m.source });
    const dir = join(scratch, `bind-${randomUUID()}`);
    mkdirSync(dir, { mode: 0o700 });
    const copier = new TreeCopier(this.tree, dir, {});
    copier.copy(rel, ['ctx'], true);
    return { path: join(dir, 'ctx'), release: async () => rmSync(dir, { recursive: true, force: true }) };
  }
}
