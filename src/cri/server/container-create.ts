// CreateContainer: the pod's facts and the image's, the spec (container-spec.ts, pure), then the
// container service creates it under its monitor in the pod's namespaces and cgroup parent, with
// the CRI log file at the pod's log_directory + log_path. The name is reserved first and freed
// again if anything fails; the container service undoes its own steps.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { invalid, notFound, precondition } from '../../oci/errors.ts';
import type { ImageConfig } from '../../oci/image-spec.ts';
import type { Spec } from '../../oci/runtime-spec.ts';
import { containerSpec, logPath } from '../container-spec.ts';
import { stopSignal } from '../stop-signal.ts';
import type { CriContainerRecord } from '../cri-container.ts';
import type { ContainerConfig, PodSandboxConfig } from '../cri-types.ts';
import { containerReservedName } from '../name-reservation.ts';
import { checkName } from '../request-limits.ts';
import { sandboxPerContainer, serviceRuntime, specForHandler } from '../runtime-class.ts';
import type { CriContext } from './cri-context.ts';
import { criContainer, criPod } from './container-life.ts';
import { gatherContainerFacts, imageLayers } from './container-facts-io.ts';
import { nowNs } from './pod-run.ts';
import { infraPid } from './pod-infra.ts';
import type { UnaryRpc } from './rpc.ts';

/** The container service label that marks a CRI container (and an infra) with its pod. */
export const POD_LABEL = 'io.kubernetes.cri.pod-sandbox-id';

/** Where a container's anonymous volumes (the image's Volumes) live. */
export const volumeDir = (ctx: CriContext, id: string): string => join(ctx.config.root, 'cri', 'volumes', id);

function targetFacts(ctx: CriContext, config: ContainerConfig) {
  const id = config.linux?.security_context?.namespace_options?.target_id ?? '';
  if (id === '') return undefined;
  const target = criContainer(ctx, id);
  const pid = ctx.cri.service.inspect(target.id).init?.pid;
  if (!pid) throw precondition(`target_id: container ${id} has no process to share namespaces with`, { field: 'config.linux.security_context.namespace_options.target_id' });
  return { id: target.id, pid: `/proc/${pid}/ns/pid`, network: `/proc/${pid}/ns/net`, ipc: `/proc/${pid}/ns/ipc` };
}

export function createContainer(ctx: CriContext): UnaryRpc {
  return async (req: { pod_sandbox_id?: string; config?: ContainerConfig | null; sandbox_config?: PodSandboxConfig | null }, rpc) => {
    const found = criPod(ctx, req.pod_sandbox_id);
    // In the pod's queue: a RemovePodSandbox running meanwhile cannot miss this container.
    return ctx.cri.queue.run(found.id, () => create(ctx, found.id, req.config, rpc.signal));
  };
}

async function create(ctx: CriContext, podId: string, requested: ContainerConfig | null | undefined, abort: AbortSignal): Promise<object> {
  const pod = ctx.cri.pods.get(podId);
  if (!pod) throw notFound(`no such pod sandbox ${JSON.stringify(podId)}: it was removed`, { field: 'pod_sandbox_id' });
  if (pod.state !== 'SANDBOX_READY') throw precondition(`pod sandbox ${pod.id} is not ready (it was stopped)`, { field: 'pod_sandbox_id' });
  const config = requested;
  if (!config?.metadata) throw invalid('config.metadata: required', { field: 'config.metadata' });
  const metadata = { name: checkName(config.metadata.name, 'config.metadata.name', 63), attempt: config.metadata.attempt ?? 0 };
  const wanted = config.image?.image ?? '';
  if (wanted === '') throw invalid('config.image.image: required', { field: 'config.image.image' });
  const image = await ctx.images.find(wanted);
  if (!image) throw notFound(`image ${JSON.stringify(wanted)} is not in the store (pull it first)`, { field: 'config.image.image' });
  // The pod as it was run: the kubelet sends its config again, but the record is what was made.
  const podConfig = pod.config;
  const id = randomBytes(32).toString('hex');
  const reserved = containerReservedName(metadata, pod.metadata);
  ctx.cri.names.reserve(reserved, id, 'container');
  const volumes = volumeDir(ctx, id);
  // What the monitor needs before the spec is made (the same rules containerSpec applies).
  const log = logPath(podConfig, config);
  const signal = stopSignal(config.stop_signal, image.facts.config.config?.StopSignal);
  try {
    const target = targetFacts(ctx, config);
    const infra = infraPid(ctx, pod);
    let planned: ReturnType<typeof containerSpec> | undefined;
    await ctx.cri.service.create({
      id,
      name: id,
      image: image.records[0]!.name,
      runtime: serviceRuntime(ctx.config, pod.runtimeHandler),
      spec: async (prepared): Promise<Spec> => {
        const facts = await gatherContainerFacts({ containerId: id, pod, config, imageName: prepared.imageName, layers: imageLayers(prepared.mount), nodeHostname: hostname(), imageVolumeDir: volumes, ...(target ? { target } : {}), ...(infra ? { infraPid: infra } : {}) });
        planned = containerSpec(config, podConfig, (prepared.imageConfig as ImageConfig).config, facts);
        for (const v of planned.imageVolumes) mkdirSync(v.hostPath, { recursive: true, mode: 0o755 });
        if (log) mkdirSync(dirname(log), { recursive: true, mode: 0o755 });
        return specForHandler(planned.spec, sandboxPerContainer(ctx.config, pod.runtimeHandler));
      },
      logPath: log ?? null,
      stdinOpen: config.stdin === true,
      ...(signal ? { stopSignal: signal } : {}),
      labels: { [POD_LABEL]: pod.id },
      signal: abort,
    });
    const c: CriContainerRecord = {
      id,
      podSandboxId: pod.id,
      metadata,
      image: { image: wanted, annotations: config.image?.annotations ?? {}, user_specified_image: config.image?.user_specified_image ?? '', runtime_handler: '', image_ref: '' },
      imageId: image.image.id,
      imageRef: image.image.repo_digests[0] ?? image.image.id,
      createdAt: nowNs(),
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
      mounts: config.mounts ?? [],
      logPath: log ?? '',
      cgroupsPath: planned?.spec.linux?.cgroupsPath ?? '',
      ...(signal ? { stopSignal: signal } : {}),
      runtimeHandler: pod.runtimeHandler,
    };
    ctx.cri.containers.save(c);
    ctx.cri.events.emit('container', { containerId: id, podSandboxId: pod.id, type: 'CONTAINER_CREATED_EVENT', at: BigInt(c.createdAt) });
    return { container_id: id };
  } catch (err) {
    ctx.cri.names.release(reserved, id);
    rmSync(volumes, { recursive: true, force: true });
    throw err;
  }
}
