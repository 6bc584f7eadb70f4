// `-e` and `--env-file` of `berth run` and `exec`, as docker reads them: the files' variables
// first, then each -e over them. `KEY` alone takes the value this shell has, as docker does; one
// this shell does not have unsets the image's (-e) or is left out (a file). A file is lines of
// KEY=VALUE taken literally (no quotes, no expansion); blank lines and lines starting with # are
// skipped. Pure, but for the file reads it is given.
import { readFileSync } from 'node:fs';
import { quote } from '../../oci/quote.ts';
import { fromSystemError, invalid } from '../../oci/errors.ts';

export type ReadText = (path: string) => string;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw fromSystemError(err, '--env-file', path);
  }
};

/** The lines of an env file as -e values (`KEY=VALUE`, or `KEY` to take from the host). */
export function parseEnvFile(text: string, path: string): string[] {
  const out: string[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.replace(/^\s+/, '');
      if (!line || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      const key = eq < 0 ? line.trimEnd() : line.slice(0, eq);
      if (!key || /\s/.test(key)) throw invalid(`--env-file ${path}:${i + 1}: variable ${quote(key)} ${key ? 'contains whitespace' : 'has no name'}`, { field: '--env-file', path });
      out.push(eq < 0 ? key : line);
    });
  return out;
}

/** The environment overrides of the flags, in order, bare keys resolved against `host`. */
export function envFromFlags(envFiles: readonly string[], env: readonly string[], host: NodeJS.ProcessEnv = process.env, read: ReadText = readText): string[] {
  const out: string[] = [];
  for (const file of envFiles) {
    for (const e of parseEnvFile(read(file), file)) {
      if (e.includes('=')) out.push(e);
      else if (host[e] !== undefined) out.push(`${e}=${host[e]}`);
    }
  }
  for (const e of env) out.push(e.includes('=') || host[e] === undefined ? e : `${e}=${host[e]}`);
  return out;
}
