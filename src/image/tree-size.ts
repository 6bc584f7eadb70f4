// Bytes a directory tree holds on disk (allocated blocks, each hardlinked inode once), measured
// before it is removed so that GC reports what it really freed. Never follows symlinks.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function treeBytes(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const visit = (path: string): void => {
    let st;
    try {
      st = lstatSync(path, { bigint: false });
    } catch {
      return;
    }
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    total += st.blocks * 512;
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const n of names) visit(join(path, n));
  };
  visit(dir);
  return total;
}
