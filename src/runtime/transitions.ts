// Which runtime operation is allowed in which status, in one place (youki's can_start, can_kill,
// can_delete), with runc's refusals. Pure.
import { precondition } from '../oci/errors.ts';
import type { ContainerStatus } from '../oci/runtime-spec.ts';

export type RuntimeOperation = 'start' | 'kill' | 'delete' | 'exec' | 'pause' | 'resume' | 'update';

const ALLOWED: Record<RuntimeOperation, readonly ContainerStatus[]> = {
  start: ['created'],
  kill: ['creating', 'created', 'running', 'paused'],
  // A running container is deleted only with --force (killed first).
  delete: ['creating', 'created', 'stopped', 'paused'],
  exec: ['created', 'running'],
  pause: ['created', 'running'],
  resume: ['paused'],
  update: ['creating', 'created', 'running', 'paused'],
};

export function allowed(op: RuntimeOperation, status: ContainerStatus, force = false): boolean {
  return ALLOWED[op].includes(status) || (op === 'delete' && force);
}

function refusal(op: RuntimeOperation, id: string, status: ContainerStatus): string {
  switch (op) {
    case 'start':
      return `cannot start container "${id}": it is ${status}, not created`;
    case 'kill':
      return `container "${id}" is not running`;
    case 'delete':
      return `cannot delete container "${id}" that is running: stop it first or use --force`;
    case 'exec':
      return `cannot exec in container "${id}": it is ${status}`;
    case 'resume':
      return `cannot resume container "${id}": it is not paused`;
    default:
      return `cannot ${op} container "${id}": it is ${status}`;
  }
}

/** Throws runc's refusal unless `op` is allowed in `status`. */
export function requireStatus(op: RuntimeOperation, id: string, status: ContainerStatus, force = false): void {
  if (!allowed(op, status, force)) throw precondition(refusal(op, id, status), { op });
}
