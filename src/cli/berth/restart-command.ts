// Restart policies on the command line: `run --restart` checked against the other flags, and
// `berth on-exit ID`, the exit command such a container's monitor runs (src/containers/restart.ts).
import { invalid } from '../../oci/errors.ts';
import { parseRestartPolicy, type RestartPolicy } from '../../containers/index.ts';
import { str, type Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';
import { installedBinary, withService } from './container-records.ts';

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
