// A cgroup parent of its own for the pods a CRI peer runs in a test (cgroupfs driver): an absolute
// path like `/berth-test-<tag>` in every hierarchy. `cleanup()` kills whatever still runs below
// it and removes the directories, deepest first, in every v1 controller and in the unified tree.
import { readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

export interface CgroupParent {
  path: string;
  /** Pids of every process below the parent, in any hierarchy. */
  pids(): number[];
  cleanup(): Promise<void>;
}

function hierarchies(): string[] {
  const top = readdirSync(CGROUP_ROOT).map((n) => join(CGROUP_ROOT, n));
  const isV2Root = top.some((p) => p.endsWith('/cgroup.controllers'));
  if (isV2Root) return [CGROUP_ROOT];
  return top.filter((p) => {
    try {
      return statSync(p).isDirectory() && !statSync(p).isSymbolicLink();
    } catch {
      return false;
    }
  });
}

/** Every directory at or below `dir`, deepest first. */
function treeBottomUp(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  } catch {
    return [];
  }
  return [...entries.flatMap(treeBottomUp), dir];
}

function procsOf(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function makeCgroupParent(tag: string): CgroupParent {
  const path = `/berth-test-${tag}`;
  const dirs = () => hierarchies().flatMap((h) => treeBottomUp(join(h, path)));
  const pids = () => [...new Set(dirs().flatMap(procsOf))];
  return {
    path,
    pids,
    cleanup: async () => {
      for (let round = 0; round < 50; round++) {
        const left = pids();
        if (!left.length) break;
        for (const pid of left) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const dir of dirs()) {
        try {
          rmdirSync(dir);
        } catch {
          // a v1 controller whose tree another one shares, or already removed
        }
      }
    },
  };
}
