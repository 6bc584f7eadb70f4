// Update: new resource limits for a created or running container, through its runtime (berth's
// writes the live cgroups; runc's and crun's `update`), kept in the container's config.json so
// that what it shows and what it has agree. `change` sees the current resources under the lock,
// so that checks between limits (memory under memory+swap) apply to what the container will have.
import { readFileSync } from 'node:fs';
import type { Resources, Spec } from '../oci/runtime-spec.ts';
import { mergeResources } from '../runtime/update-resources.ts';
import { writeDurably } from './record-store.ts';
import { viewNow } from './live-facts.ts';
import { withContainer, type ServiceContext } from './service-context.ts';
import { requireAllowed } from './transitions.ts';

/** Returns the runtime's warnings about settings that have no effect here. */
export async function updateContainer(ctx: ServiceContext, id: string, change: (current: Resources) => Resources): Promise<string[]> {
  return withContainer(ctx, id, async (record) => {
    requireAllowed('update', record.name, viewNow(ctx, record));
    const file = ctx.records.files(id).config;
    const spec = JSON.parse(readFileSync(file, 'utf8')) as Spec;
    const resources = change(spec.linux?.resources ?? {});
    const warnings = await ctx.handler(record.runtime).update(id, resources);
    (spec.linux ??= {}).resources = mergeResources(spec.linux.resources, resources);
    writeDurably(file, JSON.stringify(spec, null, 2));
    return warnings;
  });
}
