// The images a build names, so the caller can resolve them before planning (configs of FROM
// images) and before computing cache keys (digests of every image).

import { planBuild, type PlanOptions } from './plan-build.ts';
import type { BuildPlatform } from './build-args.ts';
import type { ParsedDockerfile } from './instructions.ts';
import type { BuildPlan } from './plan-types.ts';

/**
 * The FROM images the target needs, with the platform each is wanted for. ONBUILD triggers of
 * those images can name more stages or images: resolve these, plan, and the plan lists the rest.
 */
export function baseImagesNeeded(parsed: ParsedDockerfile, opts: Omit<PlanOptions, 'baseImage'> = {}): { ref: string; platform: BuildPlatform }[] {
  const seen = new Map<string, { ref: string; platform: BuildPlatform }>();
  planBuild(parsed, {
    ...opts,
    baseImage: (ref, platform) => {
      seen.set(`${ref} ${platform.os}/${platform.architecture}/${platform.variant ?? ''}`, { ref, platform });
      return { config: {} };
    },
  });
  return [...seen.values()];
}

/** Every image a plan reads: FROM bases, COPY --from and RUN --mount from= images. */
export function imagesOf(plan: BuildPlan): string[] {
  const refs = new Set<string>();
  for (const stage of plan.stages) {
    if (stage.base.kind === 'image') refs.add(stage.base.ref);
    for (const step of stage.steps) {
      if (step.copy?.from.kind === 'image') refs.add(step.copy.from.ref);
      for (const m of step.run?.mounts ?? []) if (m.sourceRef?.kind === 'image') refs.add(m.sourceRef.ref);
    }
  }
  return [...refs];
}
