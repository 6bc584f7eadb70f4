// A container's status, from its record and its init's liveness (pid and start time), and the
// state that `state` and `list` print.
import { statSync } from 'node:fs';
import type { ContainerStatus } from '../oci/runtime-spec.ts';
import { processAlive } from '../sys/proc.ts';
import { stateOutputOf, type StateOutput } from './state-output.ts';
import type { ContainerRecord, StateStore } from './state-store.ts';

export function statusOf(store: StateStore, record: ContainerRecord): ContainerStatus {
  if (record.creating) return processAlive(record.pid, record.pidStartTime || undefined) || !record.pid ? 'creating' : 'stopped';
  if (!processAlive(record.pid, record.pidStartTime)) return 'stopped';
  if (record.paused) return 'paused';
  try {
    statSync(store.fifoPath(record.id));
    return 'created';
  } catch {
    return 'running';
  }
}

export function stateOf(store: StateStore, id: string): StateOutput {
  const record = store.read(id);
  return stateOutputOf(record, statusOf(store, record));
}

export function listStates(store: StateStore): StateOutput[] {
  const out: StateOutput[] = [];
  for (const id of store.list()) {
    try {
      out.push(stateOf(store, id));
    } catch {
      // A directory without a readable state (a create in progress) is not listed.
    }
  }
  return out;
}
