// At start-up, what a berthd killed in the middle of a create left behind and no record names:
// containers of the CRI (labelled with a pod id) that no CRI record or pod knows, pod directories
// under the state dir without a pod record (their pinned namespaces and shm are unmounted), and
// CNI attachments of no known pod (DEL from the cache). Each failure is a warning; serving goes on.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { unpinNamespaces } from '../../runtime/namespace-pins.ts';
import { mountIdsBelow, unmountBelow } from '../../runtime/unmount-below.ts';
import type { CriContext } from './cri-context.ts';
import { POD_LABEL } from './container-create.ts';
import type { CacheRecord } from '../../network/index.ts';

/** Pure: what is orphaned, given what exists and what the records know. */
export function orphans(input: { labelled: string[]; containerIds: Set<string>; podIds: Set<string>; podDirs: string[]; attachments: string[] }) {
  return {
    containers: input.labelled.filter((id) => !input.containerIds.has(id) && !input.podIds.has(id)),
    podDirs: input.podDirs.filter((id) => !input.podIds.has(id)),
    attachments: input.attachments.filter((id) => !input.podIds.has(id)),
  };
}

export interface Orphans {
  containers: string[];
  podDirs: string[];
  attachments: CacheRecord[];
}

/**
 * What no record names, looked at before berthd serves (so nothing an RPC is making can be taken
 * for debris); removed by `removeOrphans` once the socket is ours (no other berthd owns them).
 */
export async function findOrphans(ctx: CriContext): Promise<Orphans> {
  const { cri } = ctx;
  const podsDir = join(ctx.config.state, 'pods');
  const cache = await cri.cni.cache.list().catch(() => []);
  const found = orphans({
    labelled: cri.service.list().filter((c) => c.labels?.[POD_LABEL] !== undefined).map((c) => c.id),
    containerIds: new Set(cri.containers.values().map((c) => c.id)),
    podIds: new Set(cri.pods.values().map((p) => p.id)),
    podDirs: existsSync(podsDir) ? readdirSync(podsDir) : [],
    attachments: cache.map((r) => r.containerId),
  });
  return { containers: found.containers, podDirs: found.podDirs, attachments: cache.filter((r) => found.attachments.includes(r.containerId)) };
}

export async function removeOrphans(ctx: CriContext, found: Orphans): Promise<void> {
  const { cri } = ctx;
  const podsDir = join(ctx.config.state, 'pods');
  const warn = (what: string, err: unknown): void => ctx.log.warn(`start-up clean-up: ${what}: ${(err as Error).message}`);
  for (const id of found.containers) {
    await cri.service.remove(id, { force: true, ifExists: true }).catch((err) => warn(`container ${id}`, err));
  }
  for (const rec of found.attachments) {
    await cri.cni.detach(rec.networkName, { containerId: rec.containerId, ifname: rec.ifname }).catch((err) => warn(`CNI attachment of ${rec.containerId}`, err));
  }
  for (const id of found.podDirs) {
    const dir = join(podsDir, id);
    try {
      const ns = join(dir, 'ns');
      const pins = existsSync(ns) ? Object.fromEntries(readdirSync(ns).map((f) => [f, join(ns, f)])) : {};
      await unpinNamespaces(pins);
      await unmountBelow(dir);
      if (mountIdsBelow(dir).length === 0) rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      warn(`pod directory ${dir}`, err);
    }
  }
  const total = found.containers.length + found.podDirs.length + found.attachments.length;
  if (total) ctx.log.info('start-up clean-up: removed what no record named', { containers: found.containers.length, pod_dirs: found.podDirs.length, cni_attachments: found.attachments.length });
}
