// Which stages a build needs and in what order: a stage depends on the stage it is FROM, the
// stages it COPYs --from and the stages its RUN --mount from=. Only the stages the target
// reaches are built (`--target` pruning); they are grouped in levels, each level's stages
// depending only on earlier levels, so the stages of one level can build in parallel.

import { precondition } from '../../oci/errors.ts';

export interface StageNode {
  index: number;
  /** Indices of the stages this one needs. */
  deps: readonly number[];
}

export function reachableStages(nodes: readonly StageNode[], target: number): number[] {
  const seen = new Set<number>();
  const visit = (i: number): void => {
    if (seen.has(i)) return;
    seen.add(i);
    for (const d of nodes[i]!.deps) visit(d);
  };
  visit(target);
  return [...seen].sort((a, b) => a - b);
}

/** Levels of the given stages: level 0 needs no stage, level n needs only levels below n. */
export function buildLevels(nodes: readonly StageNode[], stages: readonly number[]): number[][] {
  const level = new Map<number, number>();
  const onPath = new Set<number>();
  const depth = (i: number): number => {
    const known = level.get(i);
    if (known !== undefined) return known;
    if (onPath.has(i)) throw precondition(`circular dependency detected on stage ${i}`);
    onPath.add(i);
    let d = 0;
    for (const dep of nodes[i]!.deps) d = Math.max(d, depth(dep) + 1);
    onPath.delete(i);
    level.set(i, d);
    return d;
  };
  const levels: number[][] = [];
  for (const i of stages) {
    const d = depth(i);
    (levels[d] ??= []).push(i);
  }
  return levels.map((l) => l.sort((a, b) => a - b));
}
