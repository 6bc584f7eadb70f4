// The narrow view of pods and containers that other parts of berthd (the streaming server's
// Exec, Attach and PortForward; stats) need, without reaching into the RuntimeService's stores.
import { BerthError } from '../../oci/errors.ts';
import type { CriContainerState } from '../cri-container.ts';
import type { PodState } from '../pod-record.ts';
import { criContainer, criPod, lifeOf } from './container-life.ts';
import type { CriContext } from './cri-context.ts';

export interface ContainerLookup {
  id: string;
  podSandboxId: string;
  state: CriContainerState;
  /** The container's init pid on the host, while it has one. */
  pid?: number;
  /** The runtime handler it runs on ('berth', 'runc'...). */
  runtimeHandler: string;
  /** cgroupfs path of the container's cgroup. */
  cgroupsPath: string;
  logPath: string;
}

export interface PodLookup {
  id: string;
  state: PodState;
  /** The pinned network namespace file; undefined for a host-network pod. */
  netnsPath?: string;
  cgroupParent: string;
  runtimeHandler: string;
}

export interface CriLookup {
  /** undefined when there is no such container. */
  container(id: string): ContainerLookup | undefined;
  pod(id: string): PodLookup | undefined;
  /** The container ids of a pod. */
  containersOf(podId: string): string[];
}

const orUndefined = <T>(fn: () => T): T | undefined => {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BerthError && (err.kind === 'not-found' || err.kind === 'invalid-argument')) return undefined;
    throw err;
  }
};

export function criLookup(ctx: Pick<CriContext, 'cri'>): CriLookup {
  return {
    container: (id) =>
      orUndefined(() => {
        const c = criContainer(ctx, id);
        const state = lifeOf(ctx, c.id).state;
        const info = orUndefined(() => ctx.cri.service.inspect(c.id));
        const running = state === 'CONTAINER_RUNNING' || state === 'CONTAINER_CREATED';
        return {
          id: c.id,
          podSandboxId: c.podSandboxId,
          state,
          ...(running && info?.init ? { pid: info.init.pid } : {}),
          runtimeHandler: c.runtimeHandler,
          cgroupsPath: c.cgroupsPath,
          logPath: c.logPath,
        };
      }),
    pod: (id) =>
      orUndefined(() => {
        const p = criPod(ctx, id);
        return {
          id: p.id,
          state: p.state,
          ...(p.namespaces.network !== 'host' && p.state === 'SANDBOX_READY' ? { netnsPath: p.namespaces.network.path } : {}),
          cgroupParent: p.cgroupParent,
          runtimeHandler: p.runtimeHandler,
        };
      }),
    containersOf: (podId) => ctx.cri.containers.values().filter((c) => c.podSandboxId === podId).map((c) => c.id),
  };
}
