// The container lifecycle of the OCI runtime spec, as runc implements it: create (init waits on
// the exec fifo), start, state, kill, delete, exec, pause/resume, update, and run (create + start +
// wait). One file per operation (create.ts, start.ts, kill.ts, delete.ts, exec.ts, pause.ts,
// update.ts, run.ts, status.ts), which operation is allowed in which status in transitions.ts;
// this class only holds what they share: the state root and where warnings go.

import type { ContainerStatus, Process, Resources, State } from '../oci/runtime-spec.ts';
import type { Plan } from '../sys/plan-ops.ts';
import { loadBundle } from './bundle.ts';
import { cgroupManagerFromJSON, type CgroupManager } from './cgroups/index.ts';
import { createContainer, type ContainerHandle, type CreateOptions } from './create.ts';
import { deleteContainer } from './delete.ts';
import { execInContainer, type ExecOptions } from './exec.ts';
import { gatherHostFacts } from './host-facts.ts';
import { killContainer } from './kill.ts';
import { pauseContainer, resumeContainer } from './pause.ts';
import { compilePlan } from './plan-compiler.ts';
import { runContainer, type RunOptions } from './run.ts';
import type { RuntimeContext } from './runtime-context.ts';
import { startContainer } from './start.ts';
import { ociStateOf, type StateOutput } from './state-output.ts';
import { StateStore, type ContainerRecord } from './state-store.ts';
import { listStates, stateOf, statusOf } from './status.ts';
import { containerPids, updateContainer } from './update.ts';

export { loadBundle } from './bundle.ts';
export type { ContainerHandle, CreateOptions } from './create.ts';
export type { ExecOptions } from './exec.ts';
export type { RunOptions } from './run.ts';
export type { StateOutput } from './state-output.ts';

export interface RuntimeOptions {
  root: string;
  /** Warnings that must not fail the operation (poststop hook failures, ignored settings); default: dropped. */
  warn?: (message: string) => void;
}

export class Runtime implements RuntimeContext {
  readonly store: StateStore;
  /** The state root (`--root`). */
  readonly root: string;
  readonly warn: (message: string) => void;

  constructor(options: RuntimeOptions) {
    this.root = options.root;
    this.store = new StateStore(options.root);
    this.warn = options.warn ?? (() => {});
  }

  status(record: ContainerRecord): ContainerStatus {
    return statusOf(this.store, record);
  }

  ociState(record: ContainerRecord, status = this.status(record)): State {
    return ociStateOf(record, status);
  }

  state(id: string): StateOutput {
    return stateOf(this.store, id);
  }

  list(): StateOutput[] {
    return listStates(this.store);
  }

  /** Compiles the plan for a bundle without creating anything (`berth-runtime plan`). */
  plan(options: CreateOptions): Plan {
    const { spec, rootfs, bundle } = loadBundle(options.bundle);
    return compilePlan({
      spec,
      bundle,
      rootfs,
      fifoPath: this.store.fifoPath(options.id),
      consoleSocket: options.consoleSocket,
      noPivot: options.noPivot,
      preserveFds: options.preserveFds,
      host: gatherHostFacts(spec, bundle, rootfs),
      warn: this.warn,
    });
  }

  create(options: CreateOptions): Promise<ContainerHandle> {
    return createContainer(this, options);
  }

  start(id: string): Promise<void> {
    return startContainer(this, id);
  }

  kill(id: string, signal: string, all = false): Promise<void> {
    return killContainer(this, id, signal, all);
  }

  delete(id: string, force = false): Promise<void> {
    return deleteContainer(this, id, force);
  }

  exec(id: string, process: Process | ((containerProcess: Process | undefined) => Process), opts: ExecOptions = {}): Promise<number> {
    return execInContainer(this, id, process, opts);
  }

  pause(id: string): Promise<void> {
    return pauseContainer(this, id);
  }

  resume(id: string): Promise<void> {
    return resumeContainer(this, id);
  }

  pids(id: string): Promise<number[]> {
    return containerPids(this, id);
  }

  update(id: string, resources: Resources): Promise<string[]> {
    return updateContainer(this, id, resources);
  }

  cgroups(record: ContainerRecord): CgroupManager {
    return cgroupManagerFromJSON(record.cgroup);
  }

  run(options: CreateOptions, opts: RunOptions = {}): Promise<number> {
    return runContainer(this, options, opts);
  }
}
