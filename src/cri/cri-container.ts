// A CRI container as berthd keeps it: what the CRI asked for and answers with (metadata, pod,
// image, labels, mounts, log path), beside the container service's record, which knows its life
// (created, started, exited, exit code). Pure views: Container for List, ContainerStatus for
// Status, the state for filters and events.
import { parseLogTime } from '../runtime/cri-log.ts';
import type { ContainerView } from '../containers/container-record.ts';
import type { ImageSpec, Mount, StringMap } from './cri-types.ts';
import type { ContainerMetadata } from './name-reservation.ts';

export type CriContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface CriContainerRecord {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  /** The image as the request named it. */
  image: ImageSpec;
  /** The image's id (config digest) and a repo digest, as ImageStatus reports them. */
  imageId: string;
  imageRef: string;
  /** Nanoseconds since the epoch (decimal). */
  createdAt: string;
  labels: StringMap;
  annotations: StringMap;
  mounts: Mount[];
  /** The CRI log file (host path), '' when the pod or container gives none. */
  logPath: string;
  /** The container's cgroup (cgroupfs path), for stats and UpdateContainerResources. */
  cgroupsPath: string;
  stopSignal?: string;
  /** The runtime handler the container runs on (its pod's). */
  runtimeHandler: string;
}

/** What the container service knows of the container's life now (its ContainerInfo). */
export type LifeFacts = Pick<ContainerView, 'status' | 'supervision' | 'exitCode' | 'finished'> & { started?: string; reason?: string };

export interface CriLife {
  state: CriContainerState;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  reason: string;
  message: string;
}

/** The exit code containerd reports when nobody recorded one (the monitor died). */
export const UNKNOWN_EXIT_CODE = 255;

const ns = (time: string | undefined): string => (time ? String(parseLogTime(time) ?? 0n) : '0');

export function criLife(life: LifeFacts): CriLife {
  const startedAt = ns(life.started);
  const base = { startedAt, finishedAt: '0', exitCode: 0, reason: '', message: '' };
  switch (life.status) {
    case 'creating':
      return { ...base, state: 'CONTAINER_UNKNOWN' };
    case 'created':
      return { ...base, state: 'CONTAINER_CREATED' };
    case 'running':
      return { ...base, state: 'CONTAINER_RUNNING', ...(life.supervision === 'lost' ? { message: 'the container monitor died: the container runs unsupervised' } : {}) };
    case 'stopped':
      if (life.exitCode === undefined) {
        return { ...base, state: 'CONTAINER_EXITED', finishedAt: ns(life.finished), exitCode: UNKNOWN_EXIT_CODE, reason: 'Unknown', message: 'the container monitor died before recording the exit' };
      }
      return {
        ...base,
        state: 'CONTAINER_EXITED',
        finishedAt: ns(life.finished),
        exitCode: life.exitCode,
        reason: life.reason ?? (life.exitCode === 0 ? 'Completed' : 'Error'),
      };
  }
}

export function containerOf(c: CriContainerRecord, life: CriLife): object {
  return {
    id: c.id,
    pod_sandbox_id: c.podSandboxId,
    metadata: c.metadata,
    image: c.image,
    image_ref: c.imageRef,
    state: life.state,
    created_at: c.createdAt,
    labels: c.labels,
    annotations: c.annotations,
    image_id: c.imageId,
  };
}

export function containerStatusOf(c: CriContainerRecord, life: CriLife): object {
  return {
    id: c.id,
    metadata: c.metadata,
    state: life.state,
    created_at: c.createdAt,
    started_at: life.startedAt,
    finished_at: life.finishedAt,
    exit_code: life.exitCode,
    image: c.image,
    image_ref: c.imageRef,
    reason: life.reason,
    message: life.message,
    labels: c.labels,
    annotations: c.annotations,
    mounts: c.mounts,
    log_path: c.logPath,
    image_id: c.imageId,
    ...(c.stopSignal && /^SIG[A-Z]+$/.test(c.stopSignal) ? { stop_signal: c.stopSignal } : {}),
  };
}
