// Pod namespaces pinned to files (cri-o's pinns): berth-spawn unshares the namespaces, sets the
// pod's hostname and sysctls inside them, and bind-mounts each /proc/self/ns/<type> onto a file,
// so the namespaces outlive it without a pause process. Containers then join them by path.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../oci/errors.ts';
import { SpawnSession, spawnError } from '../sys/berth-spawn.ts';
import { MS, NS_PROC_NAME } from '../sys/kernel-constants.ts';
import type { Plan } from '../sys/plan-ops.ts';
import { planSysctls } from './sysctl.ts';

export type PinnableNamespace = 'network' | 'ipc' | 'uts';

export interface PinRequest {
  /** Directory that receives one file per namespace (`net`, `ipc`, `uts`). */
  dir: string;
  namespaces: readonly PinnableNamespace[];
  hostname?: string;
  /** Namespaced sysctls to set inside the new namespaces (validated as for a container). */
  sysctls?: Readonly<Record<string, string>>;
}

export type PinnedNamespaces = Partial<Record<PinnableNamespace, string>>;

const MNT_DETACH = 2;

export function pinPaths(req: Pick<PinRequest, 'dir' | 'namespaces'>): PinnedNamespaces {
  return Object.fromEntries(req.namespaces.map((ns) => [ns, join(req.dir, NS_PROC_NAME[ns])]));
}

/** The plan berth-spawn runs in its own process (no clone): pure. */
export function compilePinPlan(req: PinRequest): Plan {
  const paths = pinPaths(req);
  const plan: Plan = [{ kind: 'open-root', path: req.dir }];
  for (const ns of req.namespaces) plan.push({ kind: 'mkfile', path: `/${NS_PROC_NAME[ns]}`, mode: 0o444, origin: `namespace ${ns}` });
  plan.push({ kind: 'unshare', namespaces: [...req.namespaces], origin: 'namespaces' });
  if (req.hostname) {
    if (!req.namespaces.includes('uts')) throw invalid('hostname: a pod hostname needs its own uts namespace', { field: 'hostname' });
    plan.push({ kind: 'sethostname', name: req.hostname, origin: 'hostname' });
  }
  const writes = planSysctls({ ...req.sysctls }, [...req.namespaces]);
  if (writes.length) plan.push({ kind: 'open-root', path: '/' });
  for (const w of writes) plan.push({ kind: 'write-file', path: w.path, data: w.value, requireProcfs: true, origin: `sysctls.${w.key}` });
  for (const ns of req.namespaces) {
    plan.push({ kind: 'mount', source: `/proc/self/ns/${NS_PROC_NAME[ns]}`, target: paths[ns]!, fstype: null, flags: MS.BIND, data: null, inRoot: false, origin: `namespace ${ns}` });
  }
  return plan;
}

async function runPlan(plan: Plan): Promise<void> {
  const session = new SpawnSession(plan, { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (;;) {
      const m = await session.next();
      if (m.type === 'error') throw spawnError(plan, m);
      if (m.type === 'done' || m.type === 'eof') break;
    }
  } finally {
    await session.exited;
  }
}

/** Creates and pins the namespaces; on failure nothing stays mounted or created. */
export async function pinNamespaces(req: PinRequest): Promise<PinnedNamespaces> {
  const plan = compilePinPlan(req);
  mkdirSync(req.dir, { recursive: true, mode: 0o700 });
  try {
    await runPlan(plan);
  } catch (err) {
    await unpinNamespaces(pinPaths(req)).catch(() => {});
    throw err;
  }
  return pinPaths(req);
}

/** Unmounts (detached: a namespace still in use stays alive for its users) and removes the files. */
export async function unpinNamespaces(pinned: PinnedNamespaces): Promise<void> {
  const files = Object.values(pinned).filter((f): f is string => !!f);
  if (!files.length) return;
  await runPlan(files.map((path) => ({ kind: 'umount', path, flags: MNT_DETACH })));
  for (const f of files) rmSync(f, { force: true });
}
