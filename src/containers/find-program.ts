// A runtime named by the user (`--runtime runc`): a program on $PATH, or the path given.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { notFound } from '../oci/errors.ts';

export function findProgram(name: string): string {
  if (name.includes('/')) return name;
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw notFound(`runtime "${name}" is not installed (not found in $PATH)`, { field: '--runtime' });
}
