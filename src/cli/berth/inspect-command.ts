// `berth inspect`: containers as docker's inspect shows them (src/containers/docker-inspect.ts),
// names that are no container as images (the image command's output), through --format's Go
// template subset.
import { BerthError } from '../../oci/errors.ts';
import { dockerInspect } from '../../containers/index.ts';
import type { Spec } from '../../oci/runtime-spec.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { str, type Parsed } from './args.ts';
import { HANDLERS, type CliContext } from './image-commands.ts';
import { containersDir, withService } from './container-records.ts';
import { parseTemplate, renderTemplate } from './go-template.ts';

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
