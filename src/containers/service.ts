// The container service that `berth` and `berthd` both use: images and specs become containers
// under their monitors; records with locks; start, stop, kill, remove, exec, attach, logs; exits
// as events. One file per operation; this class holds their context and nothing else.
import { EventEmitter } from 'node:events';
import { basename, join } from 'node:path';
import { ImageStore } from '../image/image-store.ts';
import { Runtime } from '../runtime/container.ts';
import { BerthRuntimeHandler, OciCliRuntimeHandler, type HandlerExecOptions, type RuntimeHandler } from '../runtime/runtime-handler.ts';
import type { AttachStreams } from '../runtime/attach-client.ts';
import { parseLogTime, type LogLine } from '../runtime/cri-log.ts';
import type { Process, Resources } from '../oci/runtime-spec.ts';
import { readProcStat } from '../sys/proc.ts';
import { attachContainer, reopenContainerLog } from './attach.ts';
import type { ContainerRecord, ContainerView } from './container-record.ts';
import { createContainer, type Created, type CreateRequest } from './create.ts';
import { containerProcess, execInContainer } from './exec.ts';
import { awaitExit, keepExit, unwatch, watchContainer, type KnownExit } from './exit-watch.ts';
import { killContainer } from './kill.ts';
import { findRecord, inspectContainer, listContainers, type ContainerInfo } from './list.ts';
import { containerLogs, type LogOptions } from './logs.ts';
import { RecordStore } from './record-store.ts';
import { removeContainer, type RemoveOptions } from './remove.ts';
import { runForeground, type ForegroundOptions } from './run-foreground.ts';
import type { ContainerEvents, CreateStep, ServiceContext } from './service-context.ts';
import { startContainer } from './start.ts';
import { stopContainer, type StopOptions } from './stop.ts';
import { updateContainer } from './update.ts';
import { viewOf } from './container-record.ts';
import { liveFacts, viewNow } from './live-facts.ts';
import { findProgram } from './find-program.ts';
import { pauseContainer, unpauseContainer } from './pause.ts';
import { copyFromContainer, copyToContainer, type CopyEnd } from './copy.ts';
import { renameContainer } from './rename.ts';
import { restartAfterExit, startAgain, type RestartOutcome } from './restart.ts';

export interface ContainerServiceOptions {
  /** berth's store root (images, snapshots, containers): absolute. */
  root: string;
  /** An image store the caller keeps open (berthd); else the service opens one when it needs it. */
  images?: ImageStore;
  /** Where warnings go (default: dropped). */
  warn?: (message: string) => void;
  /** Runtimes by name, for `runtime` values that are not programs on $PATH (berthd's RuntimeClass handlers). */
  handlers?: Record<string, RuntimeHandler>;
  /** Watch every live container's monitor for its exit (berthd): events, and statuses from memory. */
  watch?: boolean;
  /** A test seam: called before each step of create. */
  beforeStep?: (step: CreateStep) => void;
}

export class ContainerService {
  readonly events = new EventEmitter<ContainerEvents>();
  private readonly ctx: ServiceContext;
  private openedImages?: ImageStore;
  private readonly handlers = new Map<string, RuntimeHandler>();

  private constructor(private readonly options: ContainerServiceOptions) {
    const warn = options.warn ?? (() => {});
    const self = { pid: process.pid, startTime: readProcStat(process.pid)?.startTime ?? 0 };
    this.ctx = {
      records: new RecordStore(options.root),
      handler: (name) => this.handler(name),
      images: () => options.images ?? (this.openedImages ??= ImageStore.open(options.root, { warn })),
      warn,
      events: this.events,
      memory: new Map(),
      watches: new Map(),
      beforeStep: options.beforeStep,
      self,
    };
    for (const [name, h] of Object.entries(options.handlers ?? {})) this.handlers.set(name, h);
  }

  /** Reads the records; with `watch`, starts watching every live monitor. */
  static open(options: ContainerServiceOptions): ContainerService {
    const service = new ContainerService(options);
    service.refresh();
    return service;
  }

  /** Reads the records from disk again (another process may have made or removed containers). */
  refresh(): void {
    const { memory } = this.ctx;
    memory.clear();
    for (const r of this.ctx.records.list()) memory.set(r.id, r);
    if (!this.options.watch) return;
    for (const r of memory.values()) {
      if (!r.monitor || r.exitCode !== undefined) continue;
      const view = viewOf(r, liveFacts(this.ctx, r));
      // Live: watched from now on. Ended while nobody watched: its exit file says how; recorded.
      if (view.supervision === 'supervised') watchContainer(this.ctx, r);
      else if (view.exitCode !== undefined) void keepExit(this.ctx, r.id, { status: view.exitCode, ...(view.finished ? { time: parseLogTime(view.finished) } : {}) });
    }
  }

  /** Stops watching and closes what the service opened; the containers run on. */
  close(): void {
    for (const id of [...this.ctx.watches.keys()]) unwatch(this.ctx, id);
    this.openedImages?.close();
    this.openedImages = undefined;
  }

  /** The runtime for a record's `runtime` (undefined: berth's own, in this process). */
  handler(name: string | undefined): RuntimeHandler {
    const key = name ?? 'berth';
    let h = this.handlers.get(key);
    if (!h) {
      if (key === 'berth') h = new BerthRuntimeHandler(new Runtime({ root: join(this.options.root, 'runtime'), warn: this.ctx.warn }));
      else {
        const binary = findProgram(key);
        h = new OciCliRuntimeHandler(basename(binary), binary, join(this.options.root, 'runtimes', basename(binary)));
      }
      this.handlers.set(key, h);
    }
    return h;
  }

  create(req: CreateRequest): Promise<Created> {
    return createContainer(this.ctx, req);
  }

  start(id: string): Promise<ContainerRecord> {
    return startContainer(this.ctx, id);
  }

  /** Creates and runs a container in the caller's foreground until it exits; its exit status. */
  runForeground(req: CreateRequest, opts?: ForegroundOptions): Promise<number> {
    return runForeground(this.ctx, req, opts);
  }

  stop(id: string, opts?: StopOptions): Promise<ContainerRecord> {
    return stopContainer(this.ctx, id, opts);
  }

  kill(id: string, signal: string, all = false): Promise<void> {
    return killContainer(this.ctx, id, signal, all);
  }

  remove(id: string, opts?: RemoveOptions): Promise<void> {
    return removeContainer(this.ctx, id, opts);
  }

  list(): ContainerInfo[] {
    return listContainers(this.ctx);
  }

  /** By id, name or unique id prefix. */
  inspect(key: string): ContainerInfo {
    return inspectContainer(this.ctx, key);
  }

  /** A container's status and its times, without copying its record (what a list needs of each). */
  life(key: string): ContainerView & Pick<ContainerRecord, 'started' | 'reason'> {
    const record = findRecord(this.ctx, key);
    return { ...viewNow(this.ctx, record), started: record.started, reason: record.reason };
  }

  /** The id of a container given by id, name or unique id prefix. */
  resolve(key: string): string {
    return findRecord(this.ctx, key).id;
  }

  /** The container's own process (config.json), to build an exec's process from. */
  process(id: string): Process | undefined {
    return containerProcess(this.ctx, id);
  }

  exec(id: string, process: Process, opts?: HandlerExecOptions): Promise<number> {
    return execInContainer(this.ctx, id, process, opts);
  }

  attach(id: string, streams: Omit<AttachStreams, 'tty'>): Promise<KnownExit | undefined> {
    return attachContainer(this.ctx, id, streams);
  }

  reopenLog(id: string): Promise<void> {
    return reopenContainerLog(this.ctx, id);
  }

  logs(id: string, opts?: LogOptions): AsyncGenerator<LogLine[]> {
    return containerLogs(this.ctx, id, opts);
  }

  /** New resource limits, from the current ones (see update.ts); the runtime's warnings. */
  update(id: string, change: (current: Resources) => Resources): Promise<string[]> {
    return updateContainer(this.ctx, id, change);
  }

  pause(id: string): Promise<ContainerRecord> {
    return pauseContainer(this.ctx, id);
  }

  unpause(id: string): Promise<ContainerRecord> {
    return unpauseContainer(this.ctx, id);
  }

  rename(id: string, name: string): Promise<ContainerRecord> {
    return renameContainer(this.ctx, id, name);
  }

  /** Run by a container's monitor once it ended (its exit command): its restart policy carried out. */
  restartAfterExit(id: string, exitCommand: string[]): Promise<RestartOutcome> {
    return restartAfterExit(this.ctx, id, exitCommand);
  }

  /** `berth start` of a background container that ended: run again under a new monitor with this exit command. */
  startAgain(id: string, exitCommand: string[] | undefined): Promise<ContainerRecord> {
    return startAgain(this.ctx, id, exitCommand);
  }

  /** `berth cp CONTAINER:PATH DEST`: to a host path, or as a tar stream to `write`. */
  copyFrom(id: string, path: string, dest: CopyEnd, write: (chunk: Buffer) => Promise<void>): Promise<void> {
    return copyFromContainer(this.ctx, id, path, dest, write);
  }

  /** `berth cp SRC CONTAINER:PATH`: from a host path, or a tar stream read from `chunks`. */
  copyTo(id: string, source: CopyEnd, path: string, chunks: () => AsyncIterable<Buffer>): Promise<void> {
    return copyToContainer(this.ctx, id, source, path, chunks);
  }

  /** The container's record as it is on disk now. */
  record(id: string): ContainerRecord {
    return this.ctx.records.read(id);
  }

  /** The container's exit, waiting at most timeoutMs; undefined if it runs on (or nobody can tell). */
  wait(id: string, timeoutMs: number): Promise<KnownExit | undefined> {
    return awaitExit(this.ctx, this.ctx.records.read(id), timeoutMs);
  }
}
