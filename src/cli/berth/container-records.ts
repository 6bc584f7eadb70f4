// berth's own record of its containers: <root>/containers/<id>/ holds meta.json (name, image,
// command), the bundle's config.json and rootfs mount point, and a background container's monitor
// files. The OCI runtime's state lives apart, under <root>/runtime.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalid, notFound } from '../../oci/errors.ts';
import { Runtime } from '../../runtime/container.ts';
import type { CliContext } from './image-commands.ts';

export interface ContainerMeta {
  id: string;
  name: string;
  image: string;
  command: string[];
  created: string;
}

export const containersDir = (root: string): string => join(root, 'containers');
export const runtimeRoot = (root: string): string => join(root, 'runtime');

export function runtimeFor(ctx: CliContext): Runtime {
  return new Runtime({ root: runtimeRoot(ctx.root), warn: (m) => ctx.stderr.write(`berth: warning: ${m}\n`) });
}

export function readMeta(root: string, id: string): ContainerMeta {
  try {
    return JSON.parse(readFileSync(join(containersDir(root), id, 'meta.json'), 'utf8')) as ContainerMeta;
  } catch {
    throw notFound(`no such container: ${id}`, { field: 'container' });
  }
}

export function allMeta(root: string): ContainerMeta[] {
  const dir = containersDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((id) => {
      try {
        return readMeta(root, id);
      } catch {
        return undefined;
      }
    })
    .filter((m): m is ContainerMeta => !!m)
    .sort((a, b) => b.created.localeCompare(a.created));
}

/** A container by id, id prefix or name. */
export function findContainer(root: string, key: string): ContainerMeta {
  const all = allMeta(root);
  const exact = all.find((m) => m.id === key || m.name === key);
  if (exact) return exact;
  const prefixed = all.filter((m) => m.id.startsWith(key));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) throw invalid(`container id prefix "${key}" is ambiguous`, { field: 'container' });
  throw notFound(`no such container: ${key}`, { field: 'container' });
}
