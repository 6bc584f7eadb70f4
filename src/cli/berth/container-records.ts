// berth's containers live in the container service (src/containers/) under berth's store root:
// <root>/containers/<id>/ (record, bundle, rootfs mount point, monitor files), <root>/runtime for
// berth's own runtime state and <root>/runtimes/<name> for another one picked with `run --runtime`
// (runc, crun...). All of it is private to root: config.json holds the container's `-e` secrets
// (see store-permissions.ts). This file opens the service for a command.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../../oci/errors.ts';
import { ImageStore } from '../../image/image-store.ts';
import { closePrivate } from '../../image/store-permissions.ts';
import { ContainerService } from '../../containers/index.ts';
import { Runtime } from '../../runtime/container.ts';
import type { CliContext } from './image-commands.ts';

export const containersDir = (root: string): string => join(root, 'containers');

export const warnTo = (ctx: CliContext) => (message: string): void => void ctx.stderr.write(`berth: warning: ${message}\n`);

/** The store, with anything an older berth left open to other users closed (and said so). */
/** berth's own runtime in this process, on the store's runtime state root (as the container service's). */
export function runtimeFor(ctx: CliContext): Runtime {
  return new Runtime({ root: join(ctx.root, 'runtime'), warn: warnTo(ctx) });
}

export function openStore(ctx: CliContext): ImageStore {
  const store = ImageStore.open(ctx.root, { warn: warnTo(ctx) });
  try {
    secureContainerRecords(ctx.root, warnTo(ctx));
  } catch (err) {
    store.close();
    throw err;
  }
  return store;
}

/** Container directories 0700 and their records 0600, as `run` writes them. */
function secureContainerRecords(root: string, warn: (message: string) => void): void {
  const dir = containersDir(root);
  if (!existsSync(dir)) return;
  let closed = 0;
  for (const id of readdirSync(dir)) {
    const paths = [join(dir, id), join(dir, id, 'config.json'), join(dir, id, 'meta.json')];
    if (paths.map(closePrivate).includes(true)) closed++;
  }
  if (closed) warn(`the records of ${closed} container(s) in ${dir} were open to other users (made by an older berth?): closed`);
}

/**
 * Runs a command's work with the container service; `images` opens the image store first (the
 * commands that make or remove snapshots), which also closes an older store to other users.
 */
export async function withService<T>(ctx: CliContext, opts: { images?: boolean }, fn: (service: ContainerService) => Promise<T>): Promise<T> {
  const images = opts.images ? openStore(ctx) : undefined;
  const service = ContainerService.open({ root: ctx.root, warn: warnTo(ctx), ...(images ? { images } : {}) });
  try {
    return await fn(service);
  } finally {
    service.close();
    images?.close();
  }
}

const binaries = new Map<string, string>();

/** bin/<name> of this installation: next to dist/ (bundle) or above src/ (sources). */
export function installedBinary(name: 'berth' | 'berth-runtime'): string {
  const known = binaries.get(name);
  if (known) return known;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'bin', name);
    if (existsSync(candidate)) {
      binaries.set(name, candidate);
      return candidate;
    }
  }
  throw new BerthError('internal', `cannot find bin/${name} next to berth`, { path: fileURLToPath(import.meta.url) });
}
