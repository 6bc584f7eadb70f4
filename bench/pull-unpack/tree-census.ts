// Counts what an unpack produced, to check that every variant really wrote the whole image
// (regular files, their bytes, symlinks) before its time is believed.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Census {
  regularFiles: number;
  fileBytes: number;
  symlinks: number;
}

export function census(roots: readonly string[]): Census {
  const c: Census = { regularFiles: 0, fileBytes: 0, symlinks: 0 };
  const walk = (dir: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, d.name);
      if (d.isDirectory()) walk(path);
      else if (d.isSymbolicLink()) c.symlinks++;
      else if (d.isFile()) {
        c.regularFiles++;
        c.fileBytes += lstatSync(path).size;
      }
    }
  };
  for (const r of roots) walk(r);
  return c;
}

/** The `fs` directories of an overlay snapshot store laid out as `<snapshotsDir>/<id>/fs`. */
export function snapshotFsDirs(snapshotsDir: string): string[] {
  return readdirSync(snapshotsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(snapshotsDir, d.name, 'fs'));
}

export function sameCensus(a: Census, b: Census): boolean {
  return a.regularFiles === b.regularFiles && a.fileBytes === b.fileBytes && a.symlinks === b.symlinks;
}
