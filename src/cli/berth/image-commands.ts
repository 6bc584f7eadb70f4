// Behaviour of the `berth` image commands: each takes parsed flags and arguments and the
// context (store, config dir, output streams) and returns an exit code.
import { readFileSync } from 'node:fs';
import { BerthError, invalid } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import { formatReference, familiarReference, parseNormalized, parseReference } from '../../oci/reference.ts';
import { parsePlatformString } from '../../oci/image-platform.ts';
import type { ImageStore } from '../../image/image-store.ts';
import { openStore } from './container-records.ts';
import { pullImage, pushClientFor } from '../../image/pull.ts';
import { pushImage } from '../../image/push.ts';
import { findImageRecord, resolveImage } from '../../image/image-resolve.ts';
import { pruneImages, removeImages } from '../../image/image-remove.ts';
import { storeCredentials } from '../../image/registry-auth.ts';
import { loadRegistriesConf, registriesConfPath } from '../../image/registry-hosts.ts';
import type { RegistriesConf } from '../../image/registries-conf.ts';
import { saveImages } from '../../image/archive-export.ts';
import { loadArchive } from '../../image/archive-import.ts';
import { ProgressRenderer, formatBytes } from './progress.ts';
import { pruneBuildCache } from './build-command.ts';
import { str, type Parsed } from './args.ts';

export interface CliContext {
  root: string;
  configDir: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  readStdin: () => string;
}

type Handler = (ctx: CliContext, p: Parsed) => Promise<number>;

/** registries.conf from the config dir, else the system's: read per command, as podman does. */
function registriesConf(ctx: CliContext): RegistriesConf {
  return loadRegistriesConf(registriesConfPath(ctx.configDir));
}

function withStore<T>(ctx: CliContext, fn: (s: ImageStore) => Promise<T>): Promise<T> {
  const store = openStore(ctx);
  return fn(store).finally(() => store.close());
}


function positiveInt(v: unknown, flag: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw invalid(`--${flag}: ${quote(s)} is not an integer from 1 to 64`, { field: flag });
  return n;
}

/** A registry argument: `host[:port]`, a URL, or `docker.io`. */
function registryDomain(arg: string): string {
  const host = arg.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (!host) throw invalid(`invalid registry ${quote(arg)}`, { field: 'registry' });
  return parseNormalized(`${host}/x`).domain;
}

/** "5 minutes ago", as docker words the age of images and containers. */
export function age(ms: number): string {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return 'Less than a minute ago';
  if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} hours ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

export const HANDLERS: Record<string, Handler> = {
  pull: async (ctx, p) => {
    const platform = str(p.flags.platform);
    const concurrency = positiveInt(p.flags['max-concurrent-downloads'], 'max-concurrent-downloads');
    const progress = new ProgressRenderer(ctx.stdout);
    const res = await withStore(ctx, (store) =>
      pullImage(store, p.args[0]!, {
        configDir: ctx.configDir,
        registriesConf: registriesConf(ctx),
        ...(concurrency !== undefined ? { concurrency } : {}),
        ...(platform ? { platform: parsePlatformString(platform) } : {}),
        onEvent: (e) => {
          if (p.flags.quiet) return;
          if (e.type === 'layer') progress.update({ id: e.digest, phase: e.phase, current: e.current, total: e.total });
          else if (e.type === 'resolved') progress.line(`${familiarReference(parseReference(e.reference))}: resolved ${e.digest}`);
        },
      }),
    );
    progress.finish();
    if (!p.flags.quiet) ctx.stdout.write(`Digest: ${res.digest}\n`);
    ctx.stdout.write(`${res.name}\n`);
    return 0;
  },

  push: async (ctx, p) => {
    const progress = new ProgressRenderer(ctx.stdout);
    const res = await withStore(ctx, (store) =>
      pushImage(store, p.args[0]!, p.args[1], {
        configDir: ctx.configDir,
        registriesConf: registriesConf(ctx),
        onEvent: (e) => {
          if (p.flags.quiet) return;
          if (e.type === 'blob') progress.update({ id: e.digest, phase: e.phase, current: e.current, total: e.total });
        },
      }),
    );
    progress.finish();
    ctx.stdout.write(`${res.reference}@${res.digest}\n`);
    return 0;
  },

  images: async (ctx, p) => {
    const format = str(p.flags.format) ?? 'table';
    if (format !== 'table' && format !== 'json') throw invalid(`--format must be table or json, not ${quote(format)}`, { field: '--format' });
    const rows = await withStore(ctx, async (store) => {
      const out = [];
      for (const r of store.records.list()) {
        let size = 0;
        try {
          const img = await resolveImage(store, r);
          size = img.manifest.layers.reduce((a, l) => a + l.size, img.manifest.config.size);
        } catch {
          // A record whose content is for another platform or incomplete still lists.
        }
        const ref = parseReference(r.name);
        out.push({ name: r.name, repository: familiarReference({ ...ref, tag: undefined, digest: undefined }), tag: ref.tag ?? '<none>', digest: r.digest, id: r.digest.slice(7, 19), created: r.createdAt, size });
      }
      return out;
    });
    if (p.flags.quiet) {
      for (const id of new Set(rows.map((r) => r.id))) ctx.stdout.write(`${id}\n`);
      return 0;
    }
    if (format === 'json') {
      ctx.stdout.write(JSON.stringify(rows.map((r) => ({ name: r.name, repository: r.repository, tag: r.tag, id: r.id, digest: r.digest, createdAt: new Date(r.created).toISOString(), size: r.size })), null, 2) + '\n');
      return 0;
    }
    const header = ['REPOSITORY', 'TAG', ...(p.flags.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
    const table = rows.map((r) => [r.repository, r.tag, ...(p.flags.digests ? [r.digest] : []), r.id, age(r.created), formatBytes(r.size)]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
    for (const row of [header, ...table]) ctx.stdout.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('') + '\n');
    return 0;
  },

  rmi: async (ctx, p) => {
    const res = await withStore(ctx, (store) => removeImages(store, p.args, { force: p.flags.force === true }));
    for (const n of res.untagged) ctx.stdout.write(`Untagged: ${familiarReference(parseReference(n))}\n`);
    ctx.stdout.write(`Deleted ${res.blobsRemoved} blobs and ${res.snapshotsRemoved} snapshots (${formatBytes(res.bytesFreed)})\n`);
    return 0;
  },

  tag: async (ctx, p) =>
    withStore(ctx, async (store) => {
      const src = findImageRecord(store, p.args[0]!);
      const target = parseReference(p.args[1]!, 'target');
      if (target.digest) throw invalid('a tag target cannot contain a digest', { field: 'target' });
      store.records.put({ name: formatReference(target), digest: src.digest, mediaType: src.mediaType, size: src.size });
      return 0;
    }),

  inspect: async (ctx, p) => {
    const platform = str(p.flags.platform);
    const out = await withStore(ctx, async (store) => {
      const list = [];
      for (const name of p.args) {
        const img = await resolveImage(store, name, platform ? parsePlatformString(platform) : undefined);
        list.push({ name: img.record.name, digest: img.record.digest, mediaType: img.record.mediaType, manifestDigest: img.manifestDigest, manifest: img.manifest, config: img.config });
      }
      return list;
    });
    ctx.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  },

  login: async (ctx, p) => {
    const domain = registryDomain(p.args[0]!);
    const username = str(p.flags.username);
    if (!username) throw invalid('berth login needs --username', { field: '--username' });
    let password = str(p.flags.password);
    if (p.flags['password-stdin']) password = ctx.readStdin().replace(/\r?\n$/, '');
    if (password === undefined) throw invalid('berth login needs --password-stdin or --password', { field: '--password' });
    const { client } = pushClientFor({ domain, path: 'login' }, { credentials: { username, password }, registriesConf: registriesConf(ctx) });
    await client.checkLogin();
    storeCredentials(ctx.configDir, domain, { username, password });
    ctx.stdout.write('Login Succeeded\n');
    return 0;
  },

  logout: async (ctx, p) => {
    const domain = registryDomain(p.args[0]!);
    const removed = storeCredentials(ctx.configDir, domain, undefined);
    ctx.stdout.write(removed ? `Removed login credentials for ${domain}\n` : `Not logged in to ${domain}\n`);
    return 0;
  },

  save: async (ctx, p) => {
    const output = str(p.flags.output);
    if (!output) throw invalid('berth save needs --output (-o)', { field: '--output' });
    await withStore(ctx, (store) => saveImages(store, p.args, { output, directory: p.flags.directory === true }));
    return 0;
  },

  load: async (ctx, p) => {
    const input = str(p.flags.input);
    if (!input) throw invalid('berth load needs --input (-i)', { field: '--input' });
    const res = await withStore(ctx, (store) => loadArchive(store, input));
    for (const img of res.images) ctx.stdout.write(p.flags.quiet ? `${img.digest}\n` : `Loaded image: ${familiarReference(parseReference(img.name))}\n`);
    return 0;
  },

  'image prune': async (ctx, p) => {
    const cache = p.flags['build-cache'] === true ? await withStore(ctx, (store) => pruneBuildCache(store)) : undefined;
    const res = await withStore(ctx, (store) => pruneImages(store, { all: p.flags.all === true }));
    for (const n of res.untagged) ctx.stdout.write(`Untagged: ${familiarReference(parseReference(n))}\n`);
    if (cache) ctx.stdout.write(`Deleted ${cache.records} build cache records\n`);
    const blobs = res.blobsRemoved + (cache?.blobsRemoved ?? 0);
    const snapshots = res.snapshotsRemoved + (cache?.snapshotsRemoved ?? 0);
    ctx.stdout.write(`Deleted ${blobs} blobs and ${snapshots} snapshots\nTotal reclaimed space: ${formatBytes(res.bytesFreed + (cache?.bytesFreed ?? 0))}\n`);
    return 0;
  },
};

export function readStdinSync(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (err) {
    throw new BerthError('invalid-argument', `cannot read standard input: ${(err as Error).message}`);
  }
}
