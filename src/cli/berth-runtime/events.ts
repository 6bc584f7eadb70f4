// `berth-runtime events`: runc's JSON lines, a stats event every interval (or once with --stats)
// and an oom event whenever the kernel's OOM killer acts in the container's cgroup.

import { invalid } from '../../oci/errors.ts';
import type { Runtime } from '../../runtime/container.ts';
import { encodeEvent, oomEvent, statsEvent, watchOom } from '../../runtime/cgroups/index.ts';

export function parseInterval(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw invalid(`--interval: "${value}" is not a duration (e.g. 5s, 500ms)`, { field: '--interval' });
  const n = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  if (n <= 0) throw invalid('--interval must be positive', { field: '--interval' });
  return n;
}

/** What events needs of a runtime (berth-runtime's or berth-vm's). */
export type EventSource = Pick<Runtime, 'store' | 'cgroups' | 'status'>;

export async function streamEvents(runtime: EventSource, id: string, opts: { once: boolean; interval: string }): Promise<number> {
  const record = runtime.store.read(id);
  const cgroups = runtime.cgroups(record);
  if (opts.once) {
    process.stdout.write(encodeEvent(statsEvent(id, await cgroups.stats())));
    return 0;
  }
  const interval = parseInterval(opts.interval);
  const oom = watchOom(cgroups, () => process.stdout.write(encodeEvent(oomEvent(id))));
  try {
    while (runtime.status(runtime.store.read(id)) !== 'stopped') {
      process.stdout.write(encodeEvent(statsEvent(id, await cgroups.stats())));
      await new Promise((r) => setTimeout(r, interval));
    }
  } catch {
    // the container went away
  } finally {
    oom.stop();
  }
  return 0;
}
