// A pod's infra process, when its containers share one PID namespace (NamespaceMode POD): PID 1
// of that namespace (berth-spawn --pause, which only reaps), run by the container service from a
// read-only directory holding nothing but that static binary, in the pod's namespaces and cgroup
// parent, on the pod's runtime handler. Its container id is the pod's id, as containerd's is.
import { copyFileSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, precondition } from '../../oci/errors.ts';
import { spawnBinary } from '../../sys/berth-spawn.ts';
import type { PodSandboxConfig } from '../cri-types.ts';
import { infraSpec } from '../pod-infra-spec.ts';
import type { PodPlan } from '../pod-plan.ts';
import type { PodRecord } from '../pod-record.ts';
import { serviceRuntime } from '../runtime-class.ts';
import type { CriContext } from './cri-context.ts';
import { seccompProfilesFor } from './container-facts-io.ts';
import { POD_LABEL } from './container-create.ts';

export const INFRA_IMAGE_NAME = 'berth-infra';
const CAP_SYS_RESOURCE = 24;

/** Whether this process has a capability in its effective set (/proc/self/status CapEff). */
function hasCapability(bit: number): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return !!m && ((BigInt(`0x${m[1]}`) >> BigInt(bit)) & 1n) === 1n;
}
const INFRA_PROGRAM = '/pause';

/** The infra root: /pause (berth-spawn, static), and the mount points its spec needs. */
export function prepareInfraRootfs(root: string): string {
  const dir = join(root, 'cri', 'infra-rootfs');
  for (const d of ['proc', 'dev']) mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
  // A running infra keeps the old file busy: the new one replaces it by rename.
  const tmp = join(dir, `.pause.${process.pid}`);
  copyFileSync(spawnBinary(), tmp);
  renameSync(tmp, join(dir, INFRA_PROGRAM));
  return dir;
}

export async function startInfra(ctx: CriContext, pod: PodRecord, config: PodSandboxConfig, plan: PodPlan): Promise<void> {
  const ns = pod.namespaces;
  await ctx.cri.service.create({
    id: pod.id,
    name: pod.id,
    image: INFRA_IMAGE_NAME,
    rootfsDir: ctx.cri.infraRootfs,
    runtime: serviceRuntime(ctx.config, pod.runtimeHandler),
    logPath: null,
    labels: { [POD_LABEL]: pod.id, 'io.kubernetes.cri.container-type': 'sandbox' },
    spec: () => {
      const spec = infraSpec(config, plan, {
        sandboxId: pod.id,
        rootfs: '',
        args: [INFRA_PROGRAM, '--pause'],
        namespaces: { network: ns.network, ipc: ns.ipc, uts: ns.uts },
        seccomp: seccompProfilesFor(plan.seccomp, []),
      });
      // containerd's -998 keeps the infra from the OOM killer; lowering a score needs CAP_SYS_RESOURCE.
      if (!hasCapability(CAP_SYS_RESOURCE) && spec.process) {
        delete spec.process.oomScoreAdj;
        ctx.log.debug('infra process keeps the default OOM score: berthd lacks CAP_SYS_RESOURCE', { pod: pod.id });
      }
      return spec;
    },
  });
  await ctx.cri.service.start(pod.id);
}

/** The infra's pid on the host, for containers joining its PID namespace. */
export function infraPid(ctx: CriContext, pod: PodRecord): number | undefined {
  if (pod.namespaces.pid !== 'pod' || !pod.infra) return undefined;
  const info = ctx.cri.service.inspect(pod.id);
  if (info.status !== 'running' || !info.init) throw precondition(`pod ${pod.id}: its infra process (PID 1 of the pod's PID namespace) is not running`, { field: 'pod_sandbox_id' });
  return info.init.pid;
}

/** Stops (SIGTERM, which it obeys) and removes the infra; one that is gone is done. */
export async function removeInfra(ctx: CriContext, pod: PodRecord, stopOnly = false): Promise<void> {
  if (!pod.infra) return;
  try {
    if (stopOnly) await ctx.cri.service.stop(pod.id, { timeout: 2 });
    else await ctx.cri.service.remove(pod.id, { force: true, ifExists: true });
  } catch (err) {
    if (!(err instanceof BerthError) || err.kind !== 'not-found') throw err;
  }
}
