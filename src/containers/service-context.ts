// What every operation of the container service is given: the records, the locks, the runtimes,
// the image store, where warnings and events go, and the exits being watched. One per service;
// the operations (one file each) are functions of it.
import { quote } from '../oci/quote.ts';
import { EventEmitter } from 'node:events';
import { notFound } from '../oci/errors.ts';
import type { ImageStore } from '../image/image-store.ts';
import type { ExitWatch, MonitorExit } from '../runtime/monitor.ts';
import type { RuntimeHandler } from '../runtime/runtime-handler.ts';
import { acquire, type HeldLock } from './container-lock.ts';
import type { ContainerRecord } from './container-record.ts';
import type { RecordStore } from './record-store.ts';

/** What the service announces: berthd's container events, without polling. */
export interface ContainerEvents {
  created: [record: ContainerRecord];
  started: [record: ContainerRecord];
  exited: [record: ContainerRecord];
  removed: [id: string];
}

/** The steps of create, in order; a test seam fails each in turn (everything made must go). */
export type CreateStep = 'reserve' | 'snapshot' | 'spec' | 'network' | 'mount' | 'runtime' | 'record';

export interface ServiceContext {
  readonly records: RecordStore;
  /** The runtime that runs a container (undefined: berth's own); throws for an unknown one. */
  handler(runtime: string | undefined): RuntimeHandler;
  /** The image store, opened for the service (berth) or given by the caller (berthd). */
  images(): ImageStore;
  readonly warn: (message: string) => void;
  readonly events: EventEmitter<ContainerEvents>;
  /** Records as last read or written, by id: what List and Status answer from. */
  readonly memory: Map<string, ContainerRecord>;
  /** Exits being awaited, by container id, and what was heard. */
  readonly watches: Map<string, WatchedExit>;
  /** Called before each step of create (tests make it throw). */
  readonly beforeStep?: (step: CreateStep) => void;
  /** This process, as a record's creator. */
  readonly self: { pid: number; startTime: number };
}

export interface WatchedExit {
  watch: ExitWatch;
  /** The exit, once heard (undefined: the monitor went away without a word). */
  heard?: MonitorExit;
  /** The watch ended without an exit: the monitor is gone. */
  lost?: boolean;
  settled: Promise<MonitorExit | undefined>;
}

/**
 * Runs `fn` holding the container's lock, with its record read fresh from disk (another process
 * may have changed it). A container that is gone meanwhile fails with not-found.
 */
export async function withContainer<T>(ctx: ServiceContext, id: string, fn: (record: ContainerRecord, lock: HeldLock) => Promise<T>): Promise<T> {
  // An id with no record gets no lock file (nor does a wait for one that is removed meanwhile).
  const exists = (): void => {
    if (ctx.records.tryRead(id)) return;
    ctx.memory.delete(id);
    throw notFound(`no such container: ${quote(id)}`, { field: 'container' });
  };
  exists();
  ctx.records.ensureDirs();
  const lock = await acquire(ctx.records.lockPath(id), exists);
  try {
    const record = ctx.records.tryRead(id);
    if (!record) {
      ctx.memory.delete(id);
      lock.release({ removeFile: true });
      throw notFound(`no such container: ${quote(id)}`, { field: 'container' });
    }
    ctx.memory.set(id, record);
    return await fn(record, lock);
  } finally {
    lock.release();
  }
}

/** Writes the record and keeps it in memory. */
export function saveRecord(ctx: ServiceContext, record: ContainerRecord): void {
  ctx.records.write(record);
  ctx.memory.set(record.id, record);
}
