// A quick look at how fast this file system creates small files right now. On the machine in
// RESULTS.md, for several minutes after a large tree is deleted, creating files near it is several
// times slower; a probe before and after the rounds shows whether a run was affected.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Creates 50 directories of 100 files of 2 kB under `dir` (left in place); returns the ms it took. */
export function createFilesProbe(dir: string): number {
  const data = Buffer.alloc(2000, 'x');
  const t0 = performance.now();
  for (let d = 0; d < 50; d++) {
    const sub = join(dir, `d${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(sub, `f${f}`), data);
  }
  return performance.now() - t0;
}
