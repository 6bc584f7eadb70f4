// Where containers live on disk, under berth's store root:
//   containers/<id>/meta.json      the record (container-record.ts), written whole and durably
//   containers/<id>/config.json    the OCI bundle's config
//   containers/<id>/rootfs/        the overlay of the image's snapshot chain
//   containers/<id>/init.pid, container.log[.N], exit-code, attach.sock   the monitor's files
//   locks/containers/<id>.lock     the container's lock (container-lock.ts); locks/names.lock
// Every file is private to root (store-permissions.ts): config.json holds the container's secrets.
import { quote } from '../oci/quote.ts';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { alreadyExists, fromSystemError, notFound } from '../oci/errors.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../image/store-permissions.ts';
import type { ContainerRecord } from './container-record.ts';

/** A container's files, by what they are for. */
export interface ContainerFiles {
  dir: string;
  meta: string;
  config: string;
  rootfs: string;
  pidFile: string;
  logFile: string;
  exitFile: string;
  attachSocket: string;
}

/** The files of container `id` in containers directory `dir`. */
export function containerFiles(containersDir: string, id: string): ContainerFiles {
  const dir = join(containersDir, id);
  return {
    dir,
    meta: join(dir, 'meta.json'),
    config: join(dir, 'config.json'),
    rootfs: join(dir, 'rootfs'),
    pidFile: join(dir, 'init.pid'),
    logFile: join(dir, 'container.log'),
    exitFile: join(dir, 'exit-code'),
    attachSocket: join(dir, 'attach.sock'),
  };
}

/** Writes a file whole: a reader sees the old content or the new, even after a crash (fsync + rename). */
export function writeDurably(file: string, data: string): void {
  const tmp = `${file}.tmp`;
  try {
    const fd = openSync(tmp, 'w', PRIVATE_FILE_MODE);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    throw fromSystemError(err, 'write', file);
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class RecordStore {
  readonly containersDir: string;
  readonly locksDir: string;

  constructor(readonly root: string) {
    this.containersDir = join(root, 'containers');
    this.locksDir = join(root, 'locks');
  }

  files(id: string): ContainerFiles {
    return containerFiles(this.containersDir, id);
  }

  lockPath(id: string): string {
    return join(this.locksDir, 'containers', `${id}.lock`);
  }

  namesLockPath(): string {
    return join(this.locksDir, 'names.lock');
  }

  /** Makes the lock directories (once per store). */
  ensureDirs(): void {
    for (const d of [this.containersDir, join(this.locksDir, 'containers')]) mkdirSync(d, { recursive: true, mode: PRIVATE_DIR_MODE });
  }

  /** Makes the container's directory; an id that is taken fails. */
  claim(id: string): void {
    this.ensureDirs();
    try {
      mkdirSync(this.files(id).dir, { mode: PRIVATE_DIR_MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(`container id ${id} is already in use`, { field: 'id' });
      throw fromSystemError(err, 'mkdir', this.files(id).dir);
    }
    syncDir(this.containersDir);
  }

  read(id: string): ContainerRecord {
    let text: string;
    try {
      text = readFileSync(this.files(id).meta, 'utf8');
    } catch {
      throw notFound(`no such container: ${quote(id)}`, { field: 'container' });
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch {
      throw notFound(`no such container: ${quote(id)} (its record is unreadable)`, { field: 'container', path: this.files(id).meta });
    }
  }

  /** undefined when there is none (or it is being removed). */
  tryRead(id: string): ContainerRecord | undefined {
    try {
      return this.read(id);
    } catch {
      return undefined;
    }
  }

  write(record: ContainerRecord): void {
    writeDurably(this.files(record.id).meta, JSON.stringify(record));
  }

  /** Every readable record, newest first. */
  list(): ContainerRecord[] {
    if (!existsSync(this.containersDir)) return [];
    return readdirSync(this.containersDir)
      .map((id) => this.tryRead(id))
      .filter((r): r is ContainerRecord => !!r)
      .sort((a, b) => b.created.localeCompare(a.created));
  }

  /** Removes the container's directory (its record last: a crash half-way leaves a record to retry with). */
  remove(id: string): void {
    const { dir, meta } = this.files(id);
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      const path = join(dir, name);
      if (path !== meta) rmSync(path, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
