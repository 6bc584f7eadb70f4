// `berth update [flags] CONTAINER...`: docker's update of a running (or created) container's
// limits, checked as `run` checks them against what the container has now.
import { resourcesFromFlags, RESOURCE_FLAGS } from './run-limits.ts';
import { hostCpus } from './run-options.ts';
import type { CommandSpec, Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';
import { warnTo, withService } from './container-records.ts';
import { invalid } from '../../oci/errors.ts';

export const UPDATE_COMMAND: CommandSpec = {
  path: ['update'],
  summary: "Change a running container's resource limits (memory, CPU, pids)",
  flags: RESOURCE_FLAGS,
  args: ['container...'],
};

export async function updateCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const host = hostCpus();
  // Values are checked before any container is touched.
  const given = resourcesFromFlags(p.flags, host, {}, 'update');
  if (!Object.keys(given).length) throw invalid(`berth update: nothing to change (flags: ${RESOURCE_FLAGS.map((f) => `--${f.name}`).join(', ')})`, { field: 'flags' });
  return withService(ctx, {}, async (service) => {
    for (const key of p.args) {
      const warnings = await service.update(service.resolve(key), (current) => resourcesFromFlags(p.flags, host, current, 'update'));
      for (const w of warnings) warnTo(ctx)(w);
      ctx.stdout.write(`${key}\n`);
    }
    return 0;
  });
}
