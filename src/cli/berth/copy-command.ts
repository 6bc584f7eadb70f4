// `berth cp CONTAINER:SRC DEST|-` and `berth cp SRC|- CONTAINER:DEST`, as docker's cp.
import { once } from 'node:events';
import { invalid } from '../../oci/errors.ts';
import type { Parsed } from './args.ts';
import type { CliContext } from './image-commands.ts';
import { withService } from './container-records.ts';

export type CopyArg = { container: string; path: string } | { host: string } | { stream: true };

/** `CONTAINER:PATH`, `-` (a tar stream), or a host path (one with a colon starts with / or .). */
export function parseCopyArg(arg: string): CopyArg {
  if (arg === '-') return { stream: true };
  const colon = arg.indexOf(':');
  if (arg.startsWith('/') || arg.startsWith('.') || colon <= 0) return { host: arg };
  const path = arg.slice(colon + 1);
  return { container: arg.slice(0, colon), path: path.startsWith('/') ? path : `/${path}` };
}

export async function copyCommand(ctx: CliContext, p: Parsed): Promise<number> {
  const [from, to] = [parseCopyArg(p.args[0]!), parseCopyArg(p.args[1]!)];
  const inside = (a: CopyArg): a is { container: string; path: string } => 'container' in a;
  if (inside(from) === inside(to)) throw invalid('berth cp: copying between containers or between host paths is not supported: one side must be CONTAINER:PATH', { field: 'cp' });
  return withService(ctx, {}, async (service) => {
    if (inside(from)) {
      const write = async (chunk: Buffer): Promise<void> => {
        if (!ctx.stdout.write(chunk)) await once(ctx.stdout, 'drain');
      };
      await service.copyFrom(service.resolve(from.container), from.path, 'stream' in to ? to : { host: (to as { host: string }).host }, write);
    } else if (inside(to)) {
      await service.copyTo(service.resolve(to.container), 'stream' in from ? from : { host: (from as { host: string }).host }, to.path, () => process.stdin as AsyncIterable<Buffer>);
    }
    return 0;
  });
}
