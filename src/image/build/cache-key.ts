// Cache keys of a plan's steps (rules in README.md). Pure: what a step copies is digested by the
// caller (the build context's files, a downloaded URL, an image's manifest) and passed in.

import { createHash } from 'node:crypto';
import { precondition } from '../../oci/errors.ts';
import type { Digest } from '../../oci/digest.ts';
import { formatPlatform } from './build-args.ts';
import type { BuildPlan, PlannedStep, SourceRef } from './plan-types.ts';

export interface CacheKeyInputs {
  /** Manifest digest of each image the build uses (FROM, COPY --from, RUN --mount from=), by ref. */
  imageDigests: ReadonlyMap<string, Digest>;
  /** Content digests of what a step reads from the build context or a URL, by step id. */
  contentDigests: ReadonlyMap<string, readonly Digest[]>;
}

export interface StageKeys {
  /** The key of the stage's base (FROM). */
  from: Digest;
  /** One key per step, in order. */
  steps: Digest[];
  /** The key of the stage's result: its last step's key, or `from` when it has none. */
  final: Digest;
}

const KEY_VERSION = 'berth.build.cache/v1';

const digestOf = (parts: unknown[]): Digest => `sha256:${createHash('sha256').update(JSON.stringify([KEY_VERSION, ...parts])).digest('hex')}`;

/** Whether a step's key needs content digests from the caller, and for what. */
export function contentNeeded(step: PlannedStep): 'context' | 'url' | undefined {
  if (step.copy) {
    if (step.copy.from.kind !== 'context') return undefined;
    if (step.copy.sources.length === 0) return undefined; // heredocs only: their text is in the key
    return step.copy.sources.some((s) => /^https?:\/\//.test(s) || /^git@/.test(s)) && !step.copy.checksum ? 'url' : 'context';
  }
  if (step.run?.mounts.some((m) => m.sourceRef?.kind === 'context')) return 'context';
  return undefined;
}

export function cacheKeys(plan: BuildPlan, inputs: CacheKeyInputs): Map<number, StageKeys> {
  const keys = new Map<number, StageKeys>();
  const imageDigest = (ref: string, what: string): Digest => {
    const d = inputs.imageDigests.get(ref);
    if (!d) throw precondition(`no digest for image ${ref} (${what}): resolve it before computing cache keys`, { field: ref });
    return d;
  };
  const sourceKey = (ref: SourceRef | undefined, what: string): unknown => {
    if (!ref || ref.kind === 'context') return null;
    if (ref.kind === 'image') return ['image', ref.ref, imageDigest(ref.ref, what)];
    const k = keys.get(ref.stage);
    if (!k) throw precondition(`stage ${ref.stage} has no cache key yet (${what})`);
    return ['stage', k.final];
  };

  for (const stage of plan.stages) {
    const platform = formatPlatform(stage.platform);
    let from: Digest;
    if (stage.base.kind === 'stage') from = keys.get(stage.base.stage)!.final;
    else if (stage.base.kind === 'scratch') from = digestOf(['from', 'scratch', platform]);
    else from = digestOf(['from', stage.base.ref, imageDigest(stage.base.ref, `FROM on line ${stage.line}`), platform]);

    const steps: Digest[] = [];
    let parent = from;
    for (const step of stage.steps) {
      const what = `line ${step.instruction.line}`;
      const sources: unknown[] = [];
      if (step.copy) sources.push(sourceKey(step.copy.from, what));
      for (const m of step.run?.mounts ?? []) sources.push(m.sourceRef && m.sourceRef.kind !== 'context' ? sourceKey(m.sourceRef, what) : null);
      let content: readonly Digest[] = [];
      if (contentNeeded(step)) {
        const given = inputs.contentDigests.get(step.id);
        if (!given) throw precondition(`no content digest for step ${step.id} (${step.instruction.kind.toUpperCase()} on ${what}): digest what it copies first`, { field: step.id });
        content = given;
      }
      parent = digestOf(['step', parent, step.text, step.args, sources, content]);
      steps.push(parent);
    }
    keys.set(stage.index, { from, steps, final: parent });
  }
  return keys;
}
