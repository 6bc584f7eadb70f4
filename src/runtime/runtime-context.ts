// What every runtime operation is given: where containers live and where warnings go. No
// operation reads process-global state (cwd, signal handlers, stderr): berthd runs many at once.
import type { ContainerStatus, State } from '../oci/runtime-spec.ts';
import type { ContainerRecord, StateStore } from './state-store.ts';

export interface RuntimeContext {
  /** The state root (`--root`). */
  readonly root: string;
  readonly store: StateStore;
  /** Warnings that must not fail the operation (poststart/poststop hook failures, ignored limits). */
  readonly warn: (message: string) => void;
  /** The container's status, from its record and its init's liveness. */
  status(record: ContainerRecord): ContainerStatus;
  /** The OCI state hooks receive on stdin. */
  ociState(record: ContainerRecord, status?: ContainerStatus): State;
}
