// `berth run`, `ps`, `rm` and `import`: images become containers run by berth's OCI runtime.
// Background containers (`run -d`, `logs`, `stop`): container-background.ts.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, invalid } from '../../oci/errors.ts';
import { quote } from '../../oci/quote.ts';
import type { ImageStore } from '../../image/image-store.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../image/store-permissions.ts';
import { prepareRootfs } from '../../image/prepare-rootfs.ts';
import { mountSnapshot, unmountSnapshot } from '../../image/mount-snapshot.ts';
import { imageConfigToSpec } from '../../image/runtime-config.ts';
import { importRootfsTar } from '../../image/import-rootfs.ts';
import { imageContainerBaseSpec } from '../../runtime/default-spec.ts';
import { parseLogOpts } from '../../runtime/log-options.ts';
import { list, str, type Parsed } from './args.ts';
import { age, type CliContext } from './image-commands.ts';
import { allMeta, containersDir, findContainer, handlerFor, openStore, writeMeta, type ContainerMeta } from './container-records.ts';
import { applySecurityOptions, readSecurityOptions } from './security-options.ts';
import { containerExitCode, monitorDone, monitorFiles, startInBackground, statusText, supervisionOf } from './container-background.ts';

/** Container names, as docker and podman allow them. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;


/** Stops (if needed) and removes a container: runtime state, rootfs mount, snapshot, directory. */
async function removeContainer(ctx: CliContext, store: ImageStore, meta: ContainerMeta, force: boolean): Promise<void> {
  const runtime = handlerFor(ctx, meta.runtime);
  if (runtime.exists(meta.id)) {
    const status = runtime.status(meta.id);
    if (status === 'running' && !force) {
      throw new BerthError('failed-precondition', `container ${quote(meta.name)} is running: stop it first or use --force`, { field: 'container' });
    }
    await runtime.delete(meta.id, true);
  }
  const dir = join(containersDir(ctx.root), meta.id);
  // A background container's monitor writes the exit file last: let it finish before the directory goes.
  await monitorDone(ctx.root, meta, 2000);
  const rootfs = join(dir, 'rootfs');
  try {
    unmountSnapshot(rootfs, true);
  } catch {
    // not mounted
  }
  if (store.snapshots.stat(meta.id)) await store.snapshots.remove(meta.id);
  rmSync(dir, { recursive: true, force: true });
}

export async function runCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const [image, ...cmd] = p.args;
  const runtimeName = str(p.flags.runtime);
  // Checked before anything is made: an unknown runtime is a one-line error.
  const runtime = handlerFor(ctx, runtimeName);
  const security = readSecurityOptions(list(p.flags['security-opt']));
  const id = randomBytes(32).toString('hex');
  const name = str(p.flags.name) ?? id.slice(0, 12);
  // As docker and podman: a name is shown in messages and tables, and typed back in commands.
  if (!CONTAINER_NAME.test(name)) throw invalid(`invalid container name ${quote(name)}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`, { field: '--name' });
  if (allMeta(ctx.root).some((m) => m.name === name)) throw new BerthError('already-exists', `container name ${quote(name)} is already in use`, { field: '--name' });
  const logLimits = parseLogOpts(list(p.flags['log-opt']));
  const dir = join(containersDir(ctx.root), id);
  const rootfs = join(dir, 'rootfs');
  const store = openStore(ctx);
  let mounted = false;
  let created = false;
  try {
    const prepared = await prepareRootfs(store, image!, { key: id, userOverride: str(p.flags.user) });
    mkdirSync(rootfs, { recursive: true, mode: PRIVATE_DIR_MODE });
    const entrypoint = str(p.flags.entrypoint);
    const spec = imageConfigToSpec(
      prepared.imageConfig,
      {
        cmd: cmd.length ? cmd : undefined,
        entrypoint: entrypoint !== undefined ? (entrypoint ? [entrypoint] : []) : undefined,
        env: list(p.flags.env),
        workdir: str(p.flags.workdir),
        user: str(p.flags.user),
        hostname: str(p.flags.hostname) ?? id.slice(0, 12),
        terminal: !!p.flags.tty,
      },
      { base: imageContainerBaseSpec(), resolvedUser: prepared.user },
    );
    applySecurityOptions(spec, security);
    spec.root = { path: rootfs, readonly: false };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2), { mode: PRIVATE_FILE_MODE });
    const meta: ContainerMeta = {
      id,
      name,
      image: prepared.imageName,
      command: spec.process!.args!,
      created: new Date().toISOString(),
      ...(runtime.name !== 'berth' ? { runtime: runtimeName } : {}),
      ...(p.flags.detach ? { logLimits } : {}),
    };
    writeMeta(ctx.root, meta);
    created = true;
    mountSnapshot(prepared.mount, rootfs);
    mounted = true;
    if (p.flags.detach) {
      try {
        const monitored = await startInBackground(ctx, runtime, id, dir, {
          removeOnExit: !!p.flags.rm,
          terminal: !!p.flags.tty,
          stdinOpen: !!p.flags.interactive,
          logLimits,
          surviveMonitor: !!p.flags['survive-monitor'],
        });
        try {
          writeMeta(ctx.root, { ...meta, monitor: monitored.monitor });
        } catch (err) {
          // `run -d --rm` of a quick container: the monitor may have removed it already.
          if (existsSync(dir)) throw err;
        }
      } catch (err) {
        // It never ran: nothing of it stays (runtime state, mount, snapshot, directory).
        mounted = created = false;
        await removeContainer(ctx, store, meta, true).catch(() => undefined);
        throw err;
      }
      ctx.stdout.write(`${id}\n`);
      return 0;
    }
    const code = await runtime.run(id, dir, { stdin: p.flags.interactive ? 'inherit' : 'none', keep: !p.flags.rm });
    if (p.flags.rm) await removeContainer(ctx, store, meta, true);
    // Kept: `ps -a` shows its status as for a background container's.
    else writeFileSync(monitorFiles(dir).exitFile, String(code), { mode: PRIVATE_FILE_MODE });
    return code;
  } catch (err) {
    // A container that never ran leaves nothing behind; cleaning up never hides why it failed.
    if (!created || p.flags.rm) {
      try {
        if (mounted) unmountSnapshot(rootfs, true);
        if (store.snapshots.stat(id)) await store.snapshots.remove(id);
        rmSync(dir, { recursive: true, force: true });
      } catch (cleanupErr) {
        ctx.stderr.write(`berth: warning: cleaning up after the failed run: ${(cleanupErr as Error).message}\n`);
      }
    }
    throw err;
  } finally {
    store.close();
  }
}

export async function psCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const rows = allMeta(ctx.root).map((m) => {
    const runtime = handlerFor(ctx, m.runtime);
    const status = runtime.exists(m.id) ? runtime.status(m.id) : 'removed';
    const exitCode = status === 'stopped' ? containerExitCode(ctx.root, m.id) : undefined;
    // A background container whose monitor died runs unsupervised, or ended unrecorded.
    const supervision = m.monitor ? supervisionOf(ctx.root, m) : undefined;
    return { ...m, status, ...(exitCode !== undefined ? { exitCode } : {}), ...(supervision ? { supervision } : {}) };
  });
  const shown = p.flags.all ? rows : rows.filter((r) => r.status === 'running' || r.status === 'created');
  if (p.flags.quiet) ctx.stdout.write(shown.map((r) => `${r.id.slice(0, 12)}\n`).join(''));
  else if (p.flags.format === 'json') ctx.stdout.write(`${JSON.stringify(shown)}\n`);
  else {
    const table = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], ...shown.map((r) => [r.id.slice(0, 12), r.image, quotedCommand(r.command), age(Date.parse(r.created)), statusText(r.status, r.exitCode, r.supervision === 'lost'), r.name])];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    ctx.stdout.write(table.map((row) => row.map((c, i) => c.padEnd(widths[i]! + 3)).join('').trimEnd()).join('\n') + '\n');
  }
  return 0;
}

/** The command as docker's ps shows it: quoted, cut to 20 characters with an ellipsis. */
function quotedCommand(command: readonly string[]): string {
  const text = command.join(' ');
  return `"${text.length > 20 ? `${text.slice(0, 19)}…` : text}"`;
}

export async function rmCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const store = openStore(ctx);
  try {
    for (const key of p.args) {
      const meta = findContainer(ctx.root, key);
      await removeContainer(ctx, store, meta, !!p.flags.force);
      ctx.stdout.write(`${key}\n`);
    }
  } finally {
    store.close();
  }
  return 0;
}

export async function importCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const [tarball, name] = p.args;
  const store = openStore(ctx);
  try {
    const change = list(p.flags.change);
    const opts: { cmd?: string[]; env?: string[]; workdir?: string } = {};
    for (const c of change) {
      const m = /^(CMD|ENV|WORKDIR)\s+(.*)$/s.exec(c.trim());
      if (!m) throw invalid(`--change ${quote(c)}: only CMD, ENV and WORKDIR are supported`, { field: '--change' });
      if (m[1] === 'CMD') opts.cmd = m[2]!.startsWith('[') ? (JSON.parse(m[2]!) as string[]) : ['/bin/sh', '-c', m[2]!];
      else if (m[1] === 'ENV') (opts.env ??= []).push(m[2]!.replace(/^(\S+)\s+/, '$1='));
      else opts.workdir = m[2]!;
    }
    const res = await importRootfsTar(store, tarball!, name!, opts);
    ctx.stdout.write(`${res.name} ${res.digest}\n`);
  } finally {
    store.close();
  }
  return 0;
}
