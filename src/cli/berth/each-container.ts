// The commands that act on several containers (rm, stop, kill, pause, unpause), as docker's: each
// container in turn, its name printed when done; one that fails is said so on stderr and the
// others still go; the exit status is 1 if any failed.
import type { ContainerService } from '../../containers/index.ts';
import type { Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';
import { withService } from './container-records.ts';
import { errorLine } from './error-line.ts';

export async function eachContainer(ctx: CliContext, p: Parsed, op: (service: ContainerService, id: string) => Promise<unknown>): Promise<number> {
  return withService(ctx, {}, async (service) => {
    let failed = false;
    for (const key of p.args) {
      try {
        await op(service, service.resolve(key));
        ctx.stdout.write(`${key}\n`);
      } catch (err) {
        failed = true;
        ctx.stderr.write(errorLine(err));
      }
    }
    return failed ? 1 : 0;
  });
}
