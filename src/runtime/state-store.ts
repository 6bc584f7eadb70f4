// Where containers live between commands: <root>/<id>/state.json (written atomically) and the
// exec fifo <root>/<id>/exec.fifo while the container is created but not started.

import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { alreadyExists, fromSystemError, invalid, notFound } from '../oci/errors.ts';
import type { Spec } from '../oci/runtime-spec.ts';

export interface ContainerRecord {
  id: string;
  bundle: string;
  rootfs: string;
  /** 0 until the init process exists. */
  pid: number;
  /** /proc/<pid>/stat starttime of init, to tell it from a later process with the same pid. */
  pidStartTime: number;
  created: string;
  /** Set while create is in progress. */
  creating: boolean;
  owner: string;
  config: Spec;
  /** What the cgroup manager needs to find the container's cgroups again. */
  cgroup?: unknown;
  /** Frozen by `pause`. */
  paused?: boolean;
  /** Without a mount namespace: ids of the host mounts below the rootfs before create (kept at delete). */
  hostMountsBefore?: number[];
}

const ID = /^[\w+\-.]+$/;

export function validateId(id: string): void {
  if (!id || !ID.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw invalid(`invalid container id "${id}": use letters, digits, and _ + - .`, { field: 'container-id' });
  }
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  fifoPath(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  /** Claims the id: fails if a container with this id exists. */
  claim(id: string): string {
    validateId(id);
    try {
      // runc's modes: the root private, each container's directory passable (its files are 0600).
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fromSystemError(err, 'mkdir', this.root);
    }
    const dir = this.dir(id);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(`container "${id}" already exists`, { path: dir });
      throw fromSystemError(err, 'mkdir', dir);
    }
    return dir;
  }

  write(record: ContainerRecord): void {
    const final = join(this.dir(record.id), 'state.json');
    const tmp = `${final}.tmp`;
    try {
      // Atomic by rename, as runc; no fsync: the state root belongs on tmpfs (/run), and state
      // that outlives a reboot describes processes that no longer exist.
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, JSON.stringify(record));
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, final);
    } catch (err) {
      throw fromSystemError(err, 'write', final);
    }
  }

  read(id: string): ContainerRecord {
    validateId(id);
    const file = join(this.dir(id), 'state.json');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`container "${id}" does not exist`);
      throw fromSystemError(err, 'read', file);
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch {
      throw invalid(`state of container "${id}" is corrupted`, { path: file });
    }
  }

  exists(id: string): boolean {
    try {
      this.read(id);
      return true;
    } catch {
      return false;
    }
  }

  list(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((e) => e.isDirectory() && ID.test(e.name))
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromSystemError(err, 'readdir', this.root);
    }
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }
}
