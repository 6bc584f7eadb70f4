// `berth run`, `ps`, `rm` and `import`: the command line over the container service
// (src/containers/), which turns images into containers. Background containers' `logs`, `attach`
// and `stop`: container-background.ts.

import { randomBytes } from 'node:crypto';
import { invalid } from '../../oci/errors.ts';
import type { ContainerService, CreateRequest } from '../../containers/index.ts';
import { imageConfigToSpec } from '../../image/runtime-config.ts';
import { importRootfsTar } from '../../image/import-rootfs.ts';
import { imageContainerBaseSpec } from '../../runtime/default-spec.ts';
import { parseLogOpts } from '../../runtime/log-options.ts';
import { processSignals } from '../process-signals.ts';
import { list, str, type Parsed } from './args.ts';
import { age, type CliContext } from './image-commands.ts';
import { installedBinary, openStore, warnTo, withService } from './container-records.ts';
import { applySecurityOptions, readSecurityOptions } from './security-options.ts';
import { mountedStep, readRunOptions, specStep, withFlagName } from './run-options.ts';
import { removeAnonymousVolumes } from './volume-commands.ts';
import { VolumeStore } from '../../containers/volume-store.ts';
import type { NamedRequest } from './run-storage-host.ts';
import { onExitCommand, restartPolicyOf } from './restart-command.ts';
import { readRunNetwork, type RunNetwork } from './run-network.ts';
import { DEFAULT_PS_FORMAT, formatPs, psRow } from './ps-format.ts';
import { envFromFlags } from './env-flags.ts';
import { eachContainer } from './each-container.ts';

export async function runCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const [image, ...cmd] = p.args;
  // Read before anything is made: a bad profile file or log option is a one-line error.
  const security = readSecurityOptions(list(p.flags['security-opt']));
  // docker: a privileged container has no seccomp filter, whatever --security-opt says.
  if (p.flags.privileged) security.seccomp = { kind: 'unconfined' };
  const options = readRunOptions(p.flags);
  const volumes = new VolumeStore(ctx.root);
  const id = randomBytes(32).toString('hex');
  let mounts: NamedRequest[] = [];
  const logLimits = parseLogOpts(list(p.flags['log-opt']));
  const restartPolicy = restartPolicyOf(p);
  const entrypoint = str(p.flags.entrypoint);
  const env = envFromFlags(list(p.flags['env-file']), list(p.flags.env));
  let network: RunNetwork | undefined;
  const req: CreateRequest = {
    id,
    image: image!,
    name: str(p.flags.name),
    user: str(p.flags.user),
    runtime: str(p.flags.runtime),
    spec: (prepared, { id }) => {
      const spec = imageConfigToSpec(
        prepared.imageConfig,
        {
          cmd: cmd.length ? cmd : undefined,
          entrypoint: entrypoint !== undefined ? (entrypoint ? [entrypoint] : []) : undefined,
          env,
          workdir: str(p.flags.workdir),
          user: str(p.flags.user),
          hostname: network?.hostname ?? id.slice(0, 12),
          terminal: !!p.flags.tty,
        },
        { base: imageContainerBaseSpec(), resolvedUser: prepared.user },
      );
      mounts = specStep(spec, options, prepared.imageConfig, volumes);
      applySecurityOptions(spec, security);
      return spec;
    },
    mounted: (rootfs, spec, onUndo) => mountedStep(spec, options, mounts, { id, rootfs, volumes, onUndo }),
  };
  return withService(ctx, { images: true }, (service) => runIn(service)).catch((err: unknown) => {
    throw withFlagName(err, p.flags);
  });

  async function runIn(service: ContainerService): Promise<number> {
    network = await readRunNetwork(ctx, p, service);
    req.network = network.request;
    if (!p.flags.detach) {
      const code = await service.runForeground(req, { stdin: !!p.flags.interactive, signals: processSignals, remove: !!p.flags.rm });
      // docker: --rm takes the container's anonymous volumes with it.
      if (p.flags.rm) await removeAnonymousVolumes(volumes, id, warnTo(ctx));
      return code;
    }
    const created = await service.create({
      ...req,
      id,
      logLimits,
      stdinOpen: !!p.flags.interactive,
      surviveMonitor: !!p.flags['survive-monitor'],
      // The monitor removes the container once it has ended (`run -d --rm`), or has berth carry out its restart policy.
      exitCommand: p.flags.rm ? [installedBinary('berth'), '--root', ctx.root, '--config', ctx.configDir, 'rm', '--force', '--volumes', id] : restartPolicy ? onExitCommand(ctx, id) : undefined,
      ...(restartPolicy ? { restartPolicy } : {}),
    });
    if (created.unbound) ctx.stderr.write(`berth: warning: the container would outlive its monitor, which could not tie it (${created.unbound})\n`);
    try {
      await service.start(id);
    } catch (err) {
      // It never ran: nothing of it stays (runtime state, mount, snapshot, directory).
      await service.remove(id, { force: true, ifExists: true }).catch(() => undefined);
      throw err;
    }
    ctx.stdout.write(`${id}\n`);
    return 0;
  }
}

export async function psCommand(ctx: CliContext, p: Parsed): Promise<number> {
  return withService(ctx, {}, async (service) => {
    const rows = service.list();
    const shown = p.flags.all ? rows : rows.filter((r) => r.status === 'running' || r.status === 'created' || r.status === 'restarting');
    if (p.flags.quiet) ctx.stdout.write(shown.map((r) => `${r.id.slice(0, 12)}\n`).join(''));
    else if (p.flags.format === 'json') ctx.stdout.write(`${JSON.stringify(shown)}\n`);
    else {
      const format = p.flags.format === 'table' || p.flags.format === undefined ? DEFAULT_PS_FORMAT : String(p.flags.format);
      ctx.stdout.write(formatPs(shown.map((r) => psRow(r, age)), format));
    }
    return 0;
  });
}

export async function rmCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const volumes = new VolumeStore(ctx.root);
  return eachContainer(ctx, p, async (service, id) => {
    await service.remove(id, { force: !!p.flags.force });
    if (p.flags.volumes) await removeAnonymousVolumes(volumes, id, warnTo(ctx));
  });
}

export async function importCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const [tarball, name] = p.args;
  const store = openStore(ctx);
  try {
    const change = list(p.flags.change);
    const opts: { cmd?: string[]; env?: string[]; workdir?: string } = {};
    for (const c of change) {
      const m = /^(CMD|ENV|WORKDIR)\s+(.*)$/s.exec(c.trim());
      if (!m) throw invalid(`--change "${c}": only CMD, ENV and WORKDIR are supported`, { field: '--change' });
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
