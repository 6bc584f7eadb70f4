// `berth volume create|ls|inspect|rm|prune`: docker's volume commands over the store's volumes
// (src/containers/volume-store.ts). A volume a container mounts is never removed.
import { randomBytes } from 'node:crypto';
import { invalid, BerthError } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import { VolumeStore, type VolumeInfo } from '../../containers/volume-store.ts';
import { list, str, type CommandSpec, type Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';

const quiet = { name: 'quiet', alias: 'q', kind: 'bool', help: 'print only the names' } as const;

export const VOLUME_COMMANDS: CommandSpec[] = [
  {
    path: ['volume', 'create'],
    summary: 'Create a volume (a name is made up when none is given); prints its name',
    flags: [{ name: 'label', kind: 'list', help: 'a label (KEY=VALUE)' }],
    args: ['name?'],
  },
  { path: ['volume', 'ls'], summary: 'List volumes', flags: [quiet, { name: 'format', kind: 'string', help: 'table (default) or json', default: 'table' }], args: [] },
  { path: ['volume', 'inspect'], summary: 'Show volumes as JSON (docker inspect fields)', flags: [], args: ['volume...'] },
  {
    path: ['volume', 'rm'],
    summary: 'Remove volumes (never one a container uses)',
    flags: [{ name: 'force', alias: 'f', kind: 'bool', help: 'a volume that does not exist is not an error' }],
    args: ['volume...'],
  },
  {
    path: ['volume', 'prune'],
    summary: 'Remove anonymous volumes no container uses (with --all, named ones too)',
    flags: [
      { name: 'all', alias: 'a', kind: 'bool', help: 'also named volumes' },
      { name: 'force', alias: 'f', kind: 'bool', help: 'do not ask (berth never asks)' },
    ],
    args: [],
  },
];

function labels(values: readonly string[]): Record<string, string> | undefined {
  if (!values.length) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i === 0) throw invalid(`--label ${quote(v)}: expected KEY=VALUE`, { field: '--label' });
    out[i < 0 ? v : v.slice(0, i)] = i < 0 ? '' : v.slice(i + 1);
  }
  return out;
}

/** docker's `volume inspect` shape. */
function dockerView(v: VolumeInfo): Record<string, unknown> {
  return { CreatedAt: v.created, Driver: 'local', Labels: v.labels ?? {}, Mountpoint: v.mountpoint, Name: v.name, Options: {}, Scope: 'local', Anonymous: v.anonymousFor !== undefined, UsedBy: v.usedBy };
}

async function create(ctx: CliContext, p: Parsed): Promise<number> {
  const store = new VolumeStore(ctx.root);
  const name = p.args[0] ?? randomBytes(32).toString('hex');
  const { volume } = await store.locked(async () => store.create(name, { labels: labels(list(p.flags.label)) }));
  ctx.stdout.write(`${volume.name}\n`);
  return 0;
}

async function ls(ctx: CliContext, p: Parsed): Promise<number> {
  const store = new VolumeStore(ctx.root);
  const volumes = store.list();
  if (p.flags.quiet) ctx.stdout.write(volumes.map((v) => `${v.name}\n`).join(''));
  else if (str(p.flags.format) === 'json') ctx.stdout.write(`${JSON.stringify(volumes.map((v) => dockerView(store.info(v.name))))}\n`);
  else ctx.stdout.write(['DRIVER    VOLUME NAME', ...volumes.map((v) => `local     ${v.name}`)].join('\n') + '\n');
  return 0;
}

async function inspect(ctx: CliContext, p: Parsed): Promise<number> {
  const store = new VolumeStore(ctx.root);
  ctx.stdout.write(`${JSON.stringify(p.args.map((n) => dockerView(store.info(n))), null, 2)}\n`);
  return 0;
}

async function rm(ctx: CliContext, p: Parsed): Promise<number> {
  const store = new VolumeStore(ctx.root);
  let failed: unknown;
  await store.locked(async () => {
    for (const name of p.args) {
      try {
        store.remove(name);
        ctx.stdout.write(`${name}\n`);
      } catch (err) {
        if (p.flags.force && err instanceof BerthError && err.kind === 'not-found') continue;
        // As docker: the others are still removed, the command fails.
        failed ??= err;
        ctx.stderr.write(`berth: ${(err as Error).message}\n`);
      }
    }
  });
  if (failed) throw failed;
  return 0;
}

async function prune(ctx: CliContext, p: Parsed): Promise<number> {
  const store = new VolumeStore(ctx.root);
  const removed = await store.locked(async () => {
    const names = store.unused(!!p.flags.all);
    for (const n of names) store.remove(n);
    return names;
  });
  if (removed.length) ctx.stdout.write(`Deleted Volumes:\n${removed.map((n) => `${n}\n`).join('')}`);
  return 0;
}

export const VOLUME_HANDLERS: Record<string, (ctx: CliContext, p: Parsed) => Promise<number>> = {
  'volume create': create,
  'volume ls': ls,
  'volume inspect': inspect,
  'volume rm': rm,
  'volume prune': prune,
};

/** `rm -v` and `--rm`: the anonymous volumes made for container `id` go with it. */
export async function removeAnonymousVolumes(store: VolumeStore, id: string, warn: (message: string) => void): Promise<void> {
  await store.locked(async () => {
    for (const v of store.list()) {
      if (v.anonymousFor !== id) continue;
      try {
        store.remove(v.name);
      } catch (err) {
        // docker keeps a volume another container has since mounted (`--volumes-from`-style use).
        if (!(err instanceof BerthError && err.kind === 'not-found')) warn(`volume ${v.name} kept: ${(err as Error).message}`);
      }
    }
  });
}
