// Lists a directory tree depth-first in name order, one line an entry as `describe` words it, so
// that tests can compare whole trees (before/after, berth against a peer) with one deepEqual.
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export function listTree(dir: string, describe: (rel: string, path: string, st: Stats) => string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      out.push(describe(`${rel}${n}`, p, st));
      if (st.isDirectory()) walk(p, `${rel}${n}/`);
    }
  };
  walk(dir, '');
  return out;
}
