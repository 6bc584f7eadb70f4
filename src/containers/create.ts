// Create: an image and a spec become a container under its monitor, created but not started.
// Each step that makes something registers its undo; a failure at any step undoes them all, in
// reverse, so that nothing is left: no record, snapshot, mount, runtime state, cgroup or process.
import { quote } from '../oci/quote.ts';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { alreadyExists, BerthError } from '../oci/errors.ts';
import type { Platform } from '../oci/image-spec.ts';
import type { Spec } from '../oci/runtime-spec.ts';
import { mountSnapshot, unmountSnapshot } from '../image/mount-snapshot.ts';
import { prepareRootfs, type PreparedRootfs } from '../image/prepare-rootfs.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../image/store-permissions.ts';
import type { LogLimits } from '../runtime/log-options.ts';
import { validateId } from '../runtime/state-store.ts';
import { readProcStat } from '../sys/proc.ts';
import { acquire, withLock, type HeldLock } from './container-lock.ts';
import type { ContainerRecord } from './container-record.ts';
import { watchContainer } from './exit-watch.ts';
import { monitorSettings } from './monitor-settings.ts';
import { checkContainerName } from './rename.ts';
import type { RestartPolicy } from './restart-policy.ts';
import { saveRecord, type CreateStep, type ServiceContext } from './service-context.ts';

export interface CreateRequest {
  /** Default: 64 random hex digits. */
  id?: string;
  /** Unique among the store's containers; default: the first 12 digits of the id. */
  name?: string;
  /** An image in the store (name, id or digest). */
  image: string;
  platform?: Platform;
  /** Overrides the image's User when resolving it in the image's /etc/passwd and /etc/group. */
  user?: string;
  /** The container's spec, from the prepared image; the service sets `root` to the mounted rootfs. */
  spec: (image: PreparedRootfs, container: { id: string; name: string }) => Spec | Promise<Spec>;
  /**
   * Runs once the rootfs is mounted, before the spec is written: what needs the image's files
   * (volumes filled from it, group names looked up in it) may change the spec here; `onUndo`
   * registers what to undo if the create fails later.
   */
  mounted?: (rootfs: string, spec: Spec, onUndo: (undo: () => unknown) => void) => Promise<void>;
  /** The runtime (a name or path: runc, crun...); absent: berth's own. */
  runtime?: string;
  /** The CRI log file (absolute); default <dir>/container.log; null: no log file. */
  logPath?: string | null;
  logLimits?: LogLimits;
  /** The container's stdin is a pipe its monitor holds open (attach writes into it). */
  stdinOpen?: boolean;
  /** Let the container outlive its monitor (it is then not traced: strace or gdb may attach). */
  surviveMonitor?: boolean;
  /** Runs once the container has ended and its exit is recorded (`run -d --rm`: berth rm). */
  exitCommand?: string[];
  stopSignal?: string;
  /** `run --restart`: what happens when the container exits (the exit command carries it out). */
  restartPolicy?: RestartPolicy;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Aborting stops the create; what it made is removed. */
  signal?: AbortSignal;
}

export interface Created {
  record: ContainerRecord;
  /** Why the container could not be tied to its monitor (it would outlive it), when it could not. */
  unbound?: string;
}

type Undo = () => unknown;

/** What create and a foreground run share: record, snapshot, spec and mounted rootfs. */
export interface Prepared {
  record: ContainerRecord;
  spec: Spec;
  /** The container's lock, held from the moment its record exists: release it when done. */
  lock: HeldLock;
  /** Undoes everything prepared so far, in reverse order, reporting failures as warnings. */
  undo: () => Promise<void>;
  /** Registers an undo for a step that follows. */
  onUndo: (undo: Undo) => void;
  step: (name: CreateStep) => void;
}

export async function prepareContainer(ctx: ServiceContext, req: CreateRequest, extra: Partial<ContainerRecord>): Promise<Prepared> {
  ctx.handler(req.runtime); // an unknown runtime fails before anything is made
  const id = req.id ?? randomBytes(32).toString('hex');
  validateId(id);
  const name = req.name ?? id.slice(0, 12);
  checkContainerName(name);
  const files = ctx.records.files(id);
  const undos: Undo[] = [];
  const undo = async (): Promise<void> => {
    for (const u of undos.reverse()) {
      try {
        await u();
      } catch (err) {
        ctx.warn(`cleaning up after the failed create: ${(err as Error).message}`);
      }
    }
  };
  const step = (s: CreateStep): void => {
    if (req.signal?.aborted) throw new BerthError('internal', 'create was interrupted: the container was removed', { op: 'create' });
    ctx.beforeStep?.(s);
  };
  let lock: HeldLock | undefined;
  const record: ContainerRecord = {
    id,
    name,
    image: req.image,
    command: [],
    created: new Date().toISOString(),
    ...(req.runtime && ctx.handler(req.runtime).name !== 'berth' ? { runtime: req.runtime } : {}),
    state: 'creating',
    creator: ctx.self,
    ...(req.stopSignal ? { stopSignal: req.stopSignal } : {}),
    ...(req.labels ? { labels: req.labels } : {}),
    ...(req.annotations ? { annotations: req.annotations } : {}),
    ...extra,
  };
  try {
    step('reserve');
    ctx.records.ensureDirs();
    // The name is taken by writing the record, under the store's names lock.
    await withLock(ctx.records.namesLockPath(), async () => {
      if (ctx.records.list().some((r) => r.name === name)) throw alreadyExists(`container name ${quote(name)} is already in use`, { field: '--name' });
      ctx.records.claim(id);
      // Nobody else knows the id yet: this is never waited for.
      lock = await acquire(ctx.records.lockPath(id));
      undos.push(() => {
        ctx.records.remove(id);
        ctx.memory.delete(id);
        lock?.release({ removeFile: true });
      });
      saveRecord(ctx, record);
    });
    step('snapshot');
    const images = ctx.images();
    const prepared = await prepareRootfs(images, req.image, { key: id, platform: req.platform, userOverride: req.user });
    undos.push(() => images.snapshots.stat(id) && images.snapshots.remove(id));
    step('spec');
    const spec = await req.spec(prepared, { id, name });
    spec.root = { path: files.rootfs, readonly: spec.root?.readonly ?? false };
    record.image = prepared.imageName;
    record.imageDigest = prepared.manifestDigest;
    step('mount');
    mkdirSync(files.rootfs, { mode: PRIVATE_DIR_MODE });
    await mountSnapshot(prepared.mount, files.rootfs);
    undos.push(() => unmountSnapshot(files.rootfs, true));
    await req.mounted?.(files.rootfs, spec, (u) => undos.push(u));
    writeFileSync(files.config, JSON.stringify(spec, null, 2), { mode: PRIVATE_FILE_MODE });
    record.command = spec.process?.args ?? [];
    return { record, spec, lock: lock!, undo, onUndo: (u) => undos.push(u), step };
  } catch (err) {
    await undo();
    lock?.release();
    throw err;
  }
}

/** Creates a container under its monitor (not started). */
export async function createContainer(ctx: ServiceContext, req: CreateRequest): Promise<Created> {
  const logPath = req.logPath;
  const { record, spec, lock, undo, onUndo, step } = await prepareContainer(ctx, req, {
    ...(req.logPath !== undefined ? { logPath: req.logPath } : {}),
    ...(req.logLimits ? { logLimits: req.logLimits } : {}),
    ...(req.stdinOpen ? { stdinOpen: true } : {}),
    ...(req.restartPolicy && req.restartPolicy.name !== 'no' ? { restartPolicy: req.restartPolicy, restartCount: 0 } : {}),
  });
  const files = ctx.records.files(record.id);
  try {
    step('runtime');
    const handler = ctx.handler(req.runtime);
    onUndo(async () => {
      if (await handler.exists(record.id)) await handler.delete(record.id, true);
    });
    const monitored = await handler.createMonitored({
      id: record.id,
      bundle: files.dir,
      spec,
      pidFile: files.pidFile,
      monitor: monitorSettings(files, { logPath, logLimits: req.logLimits, stdinOpen: req.stdinOpen, exitKill: !req.surviveMonitor, exitCommand: req.exitCommand }),
      signal: req.signal,
    });
    onUndo(() => monitored.watch.release());
    step('record');
    record.state = 'created';
    record.init = { pid: monitored.pid, startTime: readProcStat(monitored.pid)?.startTime ?? 0 };
    record.monitor = monitored.monitor;
    delete record.creator;
    saveRecord(ctx, record);
    watchContainer(ctx, record, monitored.watch);
    ctx.events.emit('created', record);
    return { record, ...(monitored.unbound ? { unbound: monitored.unbound } : {}) };
  } catch (err) {
    await undo();
    throw err;
  } finally {
    lock.release();
  }
}
