// What `state` prints and what hooks and `start` are given: the container's state as JSON
// objects, from its record and its status (pure).

import { OCI_VERSION, type ContainerStatus, type State } from '../oci/runtime-spec.ts';
import type { ContainerRecord } from './state-store.ts';

/** `state` output: the OCI state plus runc's extra fields. */
export interface StateOutput extends State {
  rootfs: string;
  created: string;
  owner: string;
}

function annotationsOf(record: ContainerRecord): Record<string, string> | undefined {
  const a = record.config.annotations;
  return a && Object.keys(a).length ? a : undefined;
}

/** The OCI state (hooks' stdin, the exec fifo's message). */
export function ociStateOf(record: ContainerRecord, status: ContainerStatus): State {
  const state: State = { ociVersion: OCI_VERSION, id: record.id, status, bundle: record.bundle };
  if (status !== 'stopped' && record.pid) state.pid = record.pid;
  const annotations = annotationsOf(record);
  if (annotations) state.annotations = annotations;
  return state;
}

/** `berth-runtime state` (and each entry of `list --format json`), in runc's field order. */
export function stateOutputOf(record: ContainerRecord, status: ContainerStatus): StateOutput {
  const annotations = annotationsOf(record);
  return {
    ociVersion: OCI_VERSION,
    id: record.id,
    pid: status === 'stopped' ? 0 : record.pid,
    status,
    bundle: record.bundle,
    rootfs: record.rootfs,
    created: record.created,
    owner: record.owner,
    ...(annotations ? { annotations } : {}),
  };
}

/** The exact text `berth-runtime state` prints. */
export function stateText(state: StateOutput): string {
  return `${JSON.stringify(state, null, '  ')}\n`;
}

/** The message `start` writes into the exec fifo: a little-endian u32 length, then the state. */
export function startMessage(state: State): Buffer {
  const body = Buffer.from(JSON.stringify(state));
  const msg = Buffer.alloc(4 + body.length);
  msg.writeUInt32LE(body.length, 0);
  body.copy(msg, 4);
  return msg;
}
