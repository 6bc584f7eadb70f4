// berth's own record of its containers: <root>/containers/<id>/ holds meta.json (name, image,
// command), the bundle's config.json and rootfs mount point, and a background container's monitor
// files. The low-level runtime's state lives apart: <root>/runtime for berth's own, and
// <root>/runtimes/<name> for another one picked with `run --runtime` (runc, crun...). All of it is
// private to root: config.json holds the container's `-e` secrets (see store-permissions.ts).
import { accessSync, constants, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, invalid, notFound } from '../../oci/errors.ts';
import { ImageStore } from '../../image/image-store.ts';
import { closePrivate, PRIVATE_FILE_MODE } from '../../image/store-permissions.ts';
import { quote } from '../../oci/quote.ts';
import { Runtime } from '../../runtime/container.ts';
import { BerthRuntimeHandler, OciCliRuntimeHandler, type RuntimeHandler } from '../../runtime/runtime-handler.ts';
import type { LogLimits } from '../../runtime/log-options.ts';
import type { MonitorRecord } from '../../runtime/monitor.ts';
import type { CliContext } from './image-commands.ts';

export interface ContainerMeta {
  id: string;
  name: string;
  image: string;
  command: string[];
  created: string;
  /** The low-level runtime (`run --runtime`): absent for berth's own. */
  runtime?: string;
  /** Rotation of a background container's log (`run --log-opt`). */
  logLimits?: LogLimits;
  /** A background container's monitor, once it runs. */
  monitor?: MonitorRecord;
}

export const containersDir = (root: string): string => join(root, 'containers');
export const runtimeRoot = (root: string): string => join(root, 'runtime');

const warnTo = (ctx: CliContext) => (message: string): void => void ctx.stderr.write(`berth: warning: ${message}\n`);

export function runtimeFor(ctx: CliContext): Runtime {
  return new Runtime({ root: runtimeRoot(ctx.root), warn: warnTo(ctx) });
}

/** The store, with anything an older berth left open to other users closed (and said so). */
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

/** A program on $PATH, or the path given. */
function findProgram(name: string): string {
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

/** The runtime that runs a container: berth's own (in this process), or a runc-compatible program. */
export function handlerFor(ctx: CliContext, runtime: string | undefined): RuntimeHandler {
  // One per runtime and command: `ps` asks for every container's.
  const handlers = handlerCache.get(ctx) ?? new Map<string, RuntimeHandler>();
  handlerCache.set(ctx, handlers);
  const key = runtime ?? 'berth';
  let handler = handlers.get(key);
  if (!handler) {
    if (key === 'berth') handler = new BerthRuntimeHandler(runtimeFor(ctx), installedBinary('berth-runtime'));
    else {
      const binary = findProgram(key);
      handler = new OciCliRuntimeHandler(basename(binary), binary, join(ctx.root, 'runtimes', basename(binary)));
    }
    handlers.set(key, handler);
  }
  return handler;
}

const handlerCache = new WeakMap<CliContext, Map<string, RuntimeHandler>>();

export function readMeta(root: string, id: string): ContainerMeta {
  try {
    return JSON.parse(readFileSync(join(containersDir(root), id, 'meta.json'), 'utf8')) as ContainerMeta;
  } catch {
    throw notFound(`no such container: ${quote(id)}`, { field: 'container' });
  }
}

/** Writes meta.json whole (a reader sees the old record or the new one). */
export function writeMeta(root: string, meta: ContainerMeta): void {
  const file = join(containersDir(root), meta.id, 'meta.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(meta), { mode: PRIVATE_FILE_MODE });
  renameSync(`${file}.tmp`, file);
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
  if (prefixed.length > 1) throw invalid(`container id prefix ${quote(key)} is ambiguous`, { field: 'container' });
  throw notFound(`no such container: ${quote(key)}`, { field: 'container' });
}
