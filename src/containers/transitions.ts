// Which operation the container service allows in which status, in one place (youki's can_start,
// can_kill, can_delete), with the error each refusal gives.
import { quote } from '../oci/quote.ts';
import { precondition, type BerthError } from '../oci/errors.ts';
import type { ContainerStatus, ContainerView } from './container-record.ts';

export type Operation = 'start' | 'start-again' | 'stop' | 'kill' | 'remove' | 'exec' | 'attach' | 'update' | 'pause' | 'unpause';

const ALLOWED: Record<Operation, readonly ContainerStatus[]> = {
  start: ['created'],
  // `berth start` of one that ran and ended: its process again, under a new monitor.
  'start-again': ['stopped'],
  // Stopping what has stopped is done already (the CRI's StopContainer is idempotent).
  stop: ['creating', 'created', 'running', 'restarting', 'stopped'],
  kill: ['created', 'running'],
  // A running container is removed only by force (killed first).
  remove: ['creating', 'created', 'stopped'],
  pause: ['running'],
  unpause: ['running'],
  exec: ['created', 'running'],
  attach: ['created', 'running'],
  // New limits go to live cgroups: a stopped container has none.
  update: ['created', 'running'],
};

/** Whether `op` may run on a container in this status (`force`: remove a running one too). */
export function allowed(op: Operation, status: ContainerStatus, force = false): boolean {
  return ALLOWED[op].includes(status) || (op === 'remove' && force);
}

function refusal(op: Operation, name: string, status: ContainerStatus): BerthError {
  const where = { field: 'container', op };
  switch (op) {
    case 'remove':
      return precondition(`container ${quote(name)} is running: stop it first or use --force`, where);
    case 'kill':
    case 'pause':
    case 'unpause':
      return precondition(status === 'restarting' ? `container ${quote(name)} is restarting: wait until it runs` : `container ${quote(name)} is not running`, where);
    case 'start-again':
      return precondition(`cannot start container ${quote(name)}: it is ${status}`, where);
    case 'exec':
      return precondition(`cannot exec in container ${quote(name)}: it is ${status}`, where);
    default:
      return precondition(`cannot ${op} container ${name}: it is ${status}`, where);
  }
}

/** Throws the operation's refusal unless it is allowed. */
export function requireAllowed(op: Operation, name: string, view: ContainerView, force = false): void {
  if (!allowed(op, view.status, force)) throw refusal(op, name, view.status);
}
