// Finding a plugin: the first regular file named after its type in the bin dirs, in order
// (libcni's FindInPath).

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid, notFound } from '../oci/errors.ts';

export async function findPlugin(type: string, binDirs: string[]): Promise<string> {
  if (!type || type.includes('/') || type === '.' || type === '..') throw invalid(`"${type}" is not a CNI plugin name`, { field: 'type' });
  if (binDirs.length === 0) throw invalid('no CNI plugin directories configured', { field: 'binDirs' });
  for (const dir of binDirs) {
    const path = join(dir, type);
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile()) return path;
  }
  throw notFound(`CNI plugin "${type}" not found in ${binDirs.join(':')}`, { field: 'type' });
}
