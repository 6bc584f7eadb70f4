// Update: new resource limits for a container's live cgroup, through its runtime (berth's own, or
// `runc update`). Only a container that has not stopped has a cgroup to change.
import { quote } from '../oci/quote.ts';
import { precondition } from '../oci/errors.ts';
import type { Resources } from '../oci/runtime-spec.ts';
import { viewNow } from './live-facts.ts';
import { withContainer, type ServiceContext } from './service-context.ts';

export function updateContainer(ctx: ServiceContext, id: string, resources: Resources): Promise<string[]> {
  return withContainer(ctx, id, async (record) => {
    const view = viewNow(ctx, record);
    if (view.status !== 'running' && view.status !== 'created') throw precondition(`container ${quote(record.name)} is ${view.status}: there are no resources to update`, { field: 'container' });
    return ctx.handler(record.runtime).update(id, resources);
  });
}
