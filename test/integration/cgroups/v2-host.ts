// What the cgroup v2 device tests share about this host: the unified hierarchy at
// /sys/fs/cgroup/unified, a disk to mknod, bpftool's view of a cgroup, and undoing the
// controllers berth enabled at the unified root.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const UNIFIED = '/sys/fs/cgroup/unified';
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Why the tests cannot run here, or false. */
export function v2DeviceTestsSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root';
  try {
    if (statfsSync(UNIFIED).type !== CGROUP2_SUPER_MAGIC) return `needs a cgroup2 mount at ${UNIFIED}`;
    execFileSync('bpftool', ['version'], { stdio: 'ignore' });
  } catch {
    return `needs a cgroup2 mount at ${UNIFIED} and bpftool`;
  }
  return false;
}

/** The host's first whole disk that is not a loop device, else loop0 (tests only ever read it). */
export function hostDisk(): { major: number; minor: number } {
  const ids = readdirSync('/sys/dev/block').map((e) => e.split(':').map(Number) as [number, number]);
  const [major, minor] = ids.find(([ma, mi]) => ma !== 7 && mi === 0) ?? [7, 0];
  return { major, minor };
}

/** `bpftool cgroup show DIR`: the programs attached to the cgroup itself. */
export function bpftoolShow(dir: string): Array<{ id: number; attach_type: string; name: string }> {
  return JSON.parse(execFileSync('bpftool', ['--json', 'cgroup', 'show', dir], { encoding: 'utf8' }).trim() || '[]');
}

export const rootControllers = (): string[] => readFileSync(join(UNIFIED, 'cgroup.subtree_control'), 'utf8').split(/\s+/).filter(Boolean);

/** Disables at the unified root the controllers that were not enabled `before`, where no cgroup uses them. */
export function restoreRootControllers(before: readonly string[]): void {
  for (const c of rootControllers()) {
    if (before.includes(c)) continue;
    try {
      writeFileSync(join(UNIFIED, 'cgroup.subtree_control'), `-${c}`);
    } catch {
      // another cgroup on the host uses it now: leave it enabled
    }
  }
}
