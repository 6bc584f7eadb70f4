// `update`: new resource limits written to the live cgroups and kept in the container's config;
// and `ps`: the pids in them.
import type { Resources } from '../oci/runtime-spec.ts';
import { cgroupManagerFromJSON, withDefaultDeviceRules } from './cgroups/index.ts';
import type { RuntimeContext } from './runtime-context.ts';
import { requireStatus } from './transitions.ts';
import { mergeResources } from './update-resources.ts';

/** Returns warnings about settings that have no effect here. */
export async function updateContainer(ctx: RuntimeContext, id: string, resources: Resources): Promise<string[]> {
  const record = ctx.store.read(id);
  requireStatus('update', id, ctx.status(record));
  // v1 device rules are written once at create: rewriting them line by line would briefly deny
  // every device. A v2 device program is swapped whole, built as create builds it.
  const cgroups = cgroupManagerFromJSON(record.cgroup);
  const { devices, ...writable } = resources;
  const linuxDevices = record.config.linux?.devices;
  const warnings = await cgroups.set(cgroups.mode === 'v2' && devices ? withDefaultDeviceRules({ ...writable, devices }, linuxDevices) : writable);
  const linux = (record.config.linux ??= {});
  linux.resources = mergeResources(linux.resources, resources);
  ctx.store.write(record);
  return warnings;
}

/** Pids of every process in the container (its cgroup), sorted. */
export async function containerPids(ctx: RuntimeContext, id: string): Promise<number[]> {
  const record = ctx.store.read(id);
  if (ctx.status(record) === 'stopped') return [];
  return (await cgroupManagerFromJSON(record.cgroup).pids(true)).sort((a, b) => a - b);
}
