// RunPodSandbox: the plan (pod-plan.ts), then each thing the pod is made of, each with its undo:
// pinned namespaces (with the pod's hostname and sysctls), /etc files, the /dev/shm tmpfs, the CNI
// attachment (its IP goes into /etc/hosts), the record. A failure at any step undoes what was
// made, so a retry with the same name succeeds.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { precondition } from '../../oci/errors.ts';
import { containerAddresses, loadNetwork, podCniArgs } from '../../network/index.ts';
import { pinNamespaces, unpinNamespaces, type PinnableNamespace } from '../../runtime/namespace-pins.ts';
import { MNT_DETACH, MS_NODEV, MS_NOSUID, mount, umount } from '../../sys/mount.ts';
import type { PodFiles, PodNamespace } from '../container-facts.ts';
import type { PodSandboxConfig } from '../cri-types.ts';
import { podReservedName } from '../name-reservation.ts';
import { hostsFile } from '../pod-files.ts';
import { podPlan, type PodFacts, type PodPlan } from '../pod-plan.ts';
import type { PodRecord } from '../pod-record.ts';
import { runtimeHandlerName } from '../runtime-class.ts';
import type { CriContext } from './cri-context.ts';
import { podDir } from './cri-state.ts';
import type { UnaryRpc } from './rpc.ts';
import { UndoStack } from './undo-stack.ts';
import { removeInfra, startInfra } from './pod-infra.ts';
import { loopbackDown, loopbackUp } from './pod-loopback.ts';

const MS_NOEXEC = 0x8;
/** berthd's cgroup parent for pods whose config names none (crictl's). */
export const DEFAULT_CGROUP_PARENT = '/berth';
export const POD_IFNAME = 'eth0';

const readOr = (file: string, fallback: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
};

export function hostPodFacts(): PodFacts {
  return {
    nodeHostname: osHostname(),
    hostResolvConf: readOr('/etc/resolv.conf', ''),
    hostHosts: readOr('/etc/hosts', '127.0.0.1\tlocalhost\n'),
    defaultCgroupParent: DEFAULT_CGROUP_PARENT,
  };
}

export const nowNs = (): string => String(BigInt(Date.now()) * 1_000_000n);

export function runPodSandbox(ctx: CriContext): UnaryRpc {
  return async (req: { config?: PodSandboxConfig | null; runtime_handler?: string }) => {
    const config = req.config ?? {};
    const facts = hostPodFacts();
    const plan = podPlan(config, facts);
    const handler = runtimeHandlerName(req.runtime_handler, ctx.config);
    const id = randomBytes(32).toString('hex');
    const name = podReservedName(plan.metadata);
    const { cri } = ctx;
    cri.names.reserve(name, id, 'pod');
    const undo = new UndoStack((m) => ctx.log.warn(m, { pod: id }));
    undo.push('the name reservation', () => cri.names.release(name, id));
    try {
      const pod = await cri.queue.run(id, () => makePod(ctx, id, config, plan, handler, facts, undo));
      ctx.log.debug('pod ready', { pod: id, name });
      return { pod_sandbox_id: pod.id };
    } catch (err) {
      await undo.run();
      throw err;
    }
  };
}

async function makePod(ctx: CriContext, id: string, config: PodSandboxConfig, plan: PodPlan, handler: string, facts: PodFacts, undo: UndoStack): Promise<PodRecord> {
  const dir = podDir(ctx.config, id);
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  undo.push('the pod directory', () => rmSync(dir, { recursive: true, force: true }));

  const pinned: PinnableNamespace[] = [
    ...(plan.namespaces.network === 'pinned' ? (['network', 'uts'] as const) : []),
    ...(plan.namespaces.ipc === 'pinned' ? (['ipc'] as const) : []),
  ];
  const pins = pinned.length
    ? await pinNamespaces({ dir: join(dir, 'ns'), namespaces: pinned, ...(plan.namespaces.uts === 'pinned' ? { hostname: plan.hostname } : {}), sysctls: config.linux?.sysctls ?? {} })
    : {};
  undo.push('the pinned namespaces', () => unpinNamespaces(pins));
  const ns = (type: PinnableNamespace): PodNamespace => (pins[type] ? { path: pins[type]! } : 'host');

  const files: PodFiles = { hostname: join(dir, 'hostname'), hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf') };
  writeFileSync(files.hostname!, plan.files.hostname, { mode: 0o644 });
  writeFileSync(files.hosts!, plan.files.hosts, { mode: 0o644 });
  writeFileSync(files.resolvConf!, plan.files.resolvConf, { mode: 0o644 });
  let shmMounted = false;
  if (plan.shm === 'host') files.shm = '/dev/shm';
  else {
    files.shm = join(dir, 'shm');
    mkdirSync(files.shm, { mode: 0o755 });
    mount('shm', files.shm, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${plan.shm.sizeBytes}`);
    shmMounted = true;
    undo.push('the pod /dev/shm', () => umount(files.shm!, MNT_DETACH));
  }

  const record: PodRecord = {
    id,
    metadata: plan.metadata,
    config,
    state: 'SANDBOX_READY',
    createdAt: nowNs(),
    runtimeHandler: handler,
    dir,
    namespaces: { network: ns('network'), ipc: ns('ipc'), uts: ns('uts'), pid: plan.namespaces.pid },
    files,
    shmMounted,
    cgroupParent: plan.cgroupParent,
    labels: config.labels ?? {},
    annotations: config.annotations ?? {},
  };

  if (pins.network) {
    const list = await loadNetwork(ctx.config.cni.confDir).catch((err: Error) => {
      throw precondition(`the pod network is not ready (NetworkReady is false): ${err.message}`, { path: ctx.config.cni.confDir });
    });
    await loopbackUp(ctx, id, pins.network);
    undo.push('the loopback interface', () => loopbackDown(ctx, id, pins.network));
    const result = await ctx.cri.cni.attach(list, {
      containerId: id,
      netnsPath: pins.network,
      ifname: POD_IFNAME,
      args: podCniArgs({ namespace: plan.metadata.namespace, name: plan.metadata.name, sandboxId: id, uid: plan.metadata.uid }),
      capabilities: { portMappings: plan.portMappings.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol.toLowerCase() as 'tcp', ...(p.hostIP ? { hostIP: p.hostIP } : {}) })) },
    });
    undo.push('the CNI attachment', () => ctx.cri.cni.detach(list.name, { containerId: id, ifname: POD_IFNAME, netnsPath: pins.network }));
    const ips = containerAddresses(result, POD_IFNAME).map((a) => a.address.replace(/\/\d+$/, ''));
    record.network = { name: list.name, ifname: POD_IFNAME, ips };
    writeFileSync(files.hosts!, hostsFile({ hostNetwork: false, hostHosts: facts.hostHosts, hostname: plan.hostname, podIPs: ips }), { mode: 0o644 });
  }
  if (plan.needsInfra) {
    record.infra = true;
    undo.push('the infra process', () => removeInfra(ctx, record));
    await startInfra(ctx, record, config, plan);
  }
  ctx.cri.pods.save(record);
  undo.push('the pod record', () => ctx.cri.pods.delete(id));
  return record;
}
