// Where containers live between commands: <root>/<id>/state.json (written atomically), the
// exec fifo <root>/<id>/exec.fifo while the container is created but not started, and
// <root>/<id>/fast-path.v1, what the native front needs to answer without Node (fast-path.ts).

import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { alreadyExists, fromSystemError, invalid, notFound } from '../oci/errors.ts';
import { quote } from '../oci/quote.ts';
import type { Spec } from '../oci/runtime-spec.ts';
import { cgroupManagerFromJSON, type CgroupRemoval } from './cgroups/index.ts';
import { encodeFastPath, FAST_PATH_FILE, FIFO_FILE, STATE_FILE, type StateFileIdentity } from './fast-path.ts';

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
    throw invalid(`invalid container id ${quote(id)}: use letters, digits, and _ + - .`, { field: 'container-id' });
  }
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Where compiled seccomp filters are kept (seccomp-cache.ts): '@' is in no container id. */
  seccompCacheDir(): string {
    return join(this.root, 'seccomp@cache');
  }

  fifoPath(id: string): string {
    return join(this.dir(id), FIFO_FILE);
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

  /**
   * Writes the record, and the fast-path file that matches it (removed first when the record
   * has none, as while paused: the front then never reports an outdated status).
   */
  write(record: ContainerRecord): void {
    const dir = this.dir(record.id);
    const fastPath = !record.creating && !record.paused;
    if (!fastPath && !record.creating) removeIfExists(join(dir, FAST_PATH_FILE));
    const written = writeAtomically(join(dir, STATE_FILE), JSON.stringify(record));
    const fast = fastPath ? encodeFastPath(record, cgroupRemovalOf(record), written) : null;
    if (fast) writeAtomically(join(dir, FAST_PATH_FILE), fast);
    else if (fastPath) removeIfExists(join(dir, FAST_PATH_FILE));
  }

  read(id: string): ContainerRecord {
    validateId(id);
    const file = join(this.dir(id), STATE_FILE);
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

/** Writes by rename; returns the identity of the file written (fast-path.ts StateFileIdentity). */
function writeAtomically(file: string, data: string | Buffer): StateFileIdentity {
  const tmp = `${file}.tmp`;
  try {
    // Atomic by rename, as runc; no fsync: the state root belongs on tmpfs (/run), and state
    // that outlives a reboot describes processes that no longer exist.
    const fd = openSync(tmp, 'w', 0o600);
    let st: BigIntStats;
    try {
      if (typeof data === 'string') writeSync(fd, data);
      else writeSync(fd, data);
      st = fstatSync(fd, { bigint: true });
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    return { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs };
  } catch (err) {
    throw fromSystemError(err, 'write', file);
  }
}

function removeIfExists(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, 'unlink', file);
  }
}

function cgroupRemovalOf(record: ContainerRecord): CgroupRemoval | null {
  if (record.cgroup === undefined) return null;
  try {
    return cgroupManagerFromJSON(record.cgroup).removal();
  } catch {
    return null; // Node's delete reports the bad record
  }
}
