// What the RuntimeService keeps: pods and CRI containers (records on disk, answered from memory),
// the container service their containers run under, the CNI executor, the reserved names, one
// queue per pod, and the container events GetContainerEvents streams.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { ContainerService } from '../../containers/service.ts';
import { CniExecutor } from '../../network/index.ts';
import type { CriContainerRecord } from '../cri-container.ts';
import { RecordDir } from '../cri-record-dir.ts';
import type { DaemonConfig } from '../daemon-config.ts';
import { containerReservedName, NameReservations, podReservedName } from '../name-reservation.ts';
import type { PodRecord } from '../pod-record.ts';
import { KeyedQueue } from './keyed-queue.ts';

export type ContainerEventType = 'CONTAINER_CREATED_EVENT' | 'CONTAINER_STARTED_EVENT' | 'CONTAINER_STOPPED_EVENT' | 'CONTAINER_DELETED_EVENT';

export interface CriEvents {
  container: [event: { containerId: string; podSandboxId: string; type: ContainerEventType; at: bigint }];
}

export interface CriState {
  pods: RecordDir<PodRecord>;
  containers: RecordDir<CriContainerRecord>;
  service: ContainerService;
  cni: CniExecutor;
  names: NameReservations;
  /** Per pod id: its run, stop, remove and container creates one at a time. */
  queue: KeyedQueue;
  events: EventEmitter<CriEvents>;
  /** Aborted when berthd shuts down: long-lived streams (GetContainerEvents) end then. */
  shutdown: AbortController;
}

export function openCriState(config: DaemonConfig, service: ContainerService, warn: (m: string) => void): CriState {
  const pods = new RecordDir<PodRecord>(join(config.root, 'cri', 'pods'), warn);
  const containers = new RecordDir<CriContainerRecord>(join(config.root, 'cri', 'containers'), warn);
  const names = new NameReservations();
  for (const p of pods.values()) names.reserve(podReservedName(p.metadata), p.id, 'pod');
  for (const c of containers.values()) {
    const pod = pods.get(c.podSandboxId);
    if (pod) names.reserve(containerReservedName(c.metadata, pod.metadata), c.id, 'container');
  }
  const cni = new CniExecutor({ binDirs: config.cni.binDirs, cacheDir: join(config.root, 'cni'), confDir: config.cni.confDir, onPluginStderr: (l) => warn(`CNI ${l.plugin} ${l.command}: ${l.text.trim()}`) });
  return { pods, containers, service, cni, names, queue: new KeyedQueue(), events: new EventEmitter(), shutdown: new AbortController() };
}

/** The pod's state directory under berthd's state dir. */
export const podDir = (config: DaemonConfig, id: string): string => join(config.state, 'pods', id);
