// The previous CPU point of each container and pod, so that usage_nano_cores can be computed from
// two cgroup samples. A point is replaced by each newer sample and dropped when its owner is
// removed; one entry is two bigints, so a node's worth of containers costs a few kilobytes.
import type { CgroupSample } from '../../runtime/cgroups/index.ts';
import { cpuPointOf, type CpuPoint } from './cri-stats.ts';

export class SampleCache {
  private readonly points = new Map<string, CpuPoint>();

  /**
   * The point seen before `sample` for `id` (undefined the first time), remembering `sample`'s.
   * An older sample than the one kept (two concurrent RPCs) leaves the newer one in place.
   */
  previous(id: string, sample: CgroupSample): CpuPoint | undefined {
    const before = this.points.get(id);
    const point = cpuPointOf(sample);
    if (point && (!before || point.timestampNs > before.timestampNs)) this.points.set(id, point);
    return before && point && before.timestampNs < point.timestampNs ? before : undefined;
  }

  /** Forgets a removed container or pod. */
  drop(id: string): void {
    this.points.delete(id);
  }

  /** Forgets every id not in `live` (after a restart or a missed remove). */
  retain(live: Iterable<string>): void {
    const keep = new Set(live);
    for (const id of this.points.keys()) if (!keep.has(id)) this.points.delete(id);
  }

  get size(): number {
    return this.points.size;
  }
}
