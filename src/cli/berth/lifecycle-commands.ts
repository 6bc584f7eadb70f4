// `berth kill`, `wait`, `pause`, `unpause`, `rename`, `inspect` (containers, else images), and
// `on-exit`, the exit command a restart policy gives a container's monitor: the command line
// over the container service.
import { BerthError, invalid } from '../../oci/errors.ts';
import { dockerInspect, parseRestartPolicy, type ContainerService, type RestartPolicy } from '../../containers/index.ts';
import type { Spec } from '../../oci/runtime-spec.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveSignal } from '../../runtime/signals.ts';
import { str, type Parsed } from './args.ts';
import { HANDLERS, type CliContext } from './image-commands.ts';
import { containersDir, installedBinary, withService } from './container-records.ts';
import { parseTemplate, renderTemplate } from './go-template.ts';

/** Runs `op` on each container named, printing the name as given (docker's kill, pause...). */
async function eachContainer(ctx: CliContext, p: Parsed, op: (service: ContainerService, id: string) => Promise<unknown>): Promise<number> {
  return withService(ctx, {}, async (service) => {
    for (const key of p.args) {
      await op(service, service.resolve(key));
      ctx.stdout.write(`${key}\n`);
    }
    return 0;
  });
}

export async function killCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const signal = str(p.flags.signal) ?? 'SIGKILL';
  resolveSignal(signal); // a bad name fails before any container is signalled
  return eachContainer(ctx, p, (service, id) => service.kill(id, signal));
}

export const pauseCommand = (ctx: CliContext, p: Parsed): Promise<number> => eachContainer(ctx, p, (service, id) => service.pause(id));
export const unpauseCommand = (ctx: CliContext, p: Parsed): Promise<number> => eachContainer(ctx, p, (service, id) => service.unpause(id));

export async function renameCommand(ctx: CliContext, p: Parsed): Promise<number> {
  return withService(ctx, {}, async (service) => {
    await service.rename(service.resolve(p.args[0]!), p.args[1]!);
    return 0;
  });
}

/** How long one wait for an exit lasts before it looks again (a timer cannot wait forever). */
const WAIT_SLICE_MS = 3_600_000;

/** Blocks until each container has stopped; prints their exit codes, one a line, in order. */
export async function waitCommand(ctx: CliContext, p: Parsed): Promise<number> {
  return withService(ctx, {}, async (service) => {
    const ids = p.args.map((key) => service.resolve(key));
    for (const id of ids) {
      for (;;) {
        const record = service.record(id);
        if (record.exitCode !== undefined) {
          ctx.stdout.write(`${record.exitCode}\n`);
          break;
        }
        const exit = await service.wait(id, WAIT_SLICE_MS);
        if (exit) {
          ctx.stdout.write(`${exit.status}\n`);
          break;
        }
      }
    }
    return 0;
  });
}

/** `berth inspect`: docker-shaped containers, and images for names that are not containers. */
export async function inspectCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const type = str(p.flags.type);
  if (type !== undefined && type !== 'container' && type !== 'image') throw new BerthError('invalid-argument', `--type: "${type}" is not container or image`, { field: '--type' });
  const format = str(p.flags.format);
  const template = format !== undefined ? parseTemplate(format) : undefined;
  const found: unknown[] = [];
  const images: string[] = [];
  if (type !== 'image') {
    await withService(ctx, {}, async (service) => {
      for (const key of p.args) {
        try {
          const info = service.inspect(key);
          found.push(dockerInspect(info, readSpec(ctx, info.id)));
        } catch (err) {
          if (!(err instanceof BerthError && err.kind === 'not-found') || type === 'container') throw err;
          images.push(key);
        }
      }
    });
  } else images.push(...p.args);
  if (images.length) found.push(...(await inspectImages(ctx, p, images)));
  ctx.stdout.write(template ? found.map((o) => `${renderTemplate(template, o)}\n`).join('') : `${JSON.stringify(found, null, 4)}\n`);
  return 0;
}

/** The image command's objects for these names (it prints them: caught here, to merge). */
async function inspectImages(ctx: CliContext, p: Parsed, names: string[]): Promise<unknown[]> {
  let out = '';
  const stdout = { write: (chunk: string) => ((out += chunk), true) } as unknown as CliContext['stdout'];
  await HANDLERS.inspect!({ ...ctx, stdout }, { flags: p.flags, args: names });
  return JSON.parse(out) as unknown[];
}

function readSpec(ctx: CliContext, id: string): Spec | undefined {
  try {
    return JSON.parse(readFileSync(join(containersDir(ctx.root), id, 'config.json'), 'utf8')) as Spec;
  } catch {
    return undefined;
  }
}

/** The exit command of a container with a restart policy: this command, run by its monitor. */
export function onExitCommand(ctx: CliContext, id: string): string[] {
  return [installedBinary('berth'), '--root', ctx.root, '--config', ctx.configDir, 'on-exit', id];
}

export async function onExitCommandHandler(ctx: CliContext, p: Parsed): Promise<number> {
  const id = p.args[0]!;
  await withService(ctx, {}, (service) => service.restartAfterExit(id, onExitCommand(ctx, id)));
  return 0;
}

/** `run --restart`, checked against the other flags as docker does; undefined for "no". */
export function restartPolicyOf(p: Parsed): RestartPolicy | undefined {
  const policy = parseRestartPolicy(str(p.flags.restart));
  if (policy.name === 'no') return undefined;
  if (p.flags.rm) throw invalid('conflicting options: --restart and --rm', { field: '--restart' });
  // Without -d nobody supervises the container once this process is gone.
  if (!p.flags.detach) throw invalid('--restart needs -d: a restart policy is carried out by the container\'s monitor', { field: '--restart' });
  return policy;
}
