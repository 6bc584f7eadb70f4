// Named and anonymous volumes, under berth's store root (docker's layout):
//   volumes/<name>/meta.json        name, creation time, labels, the container an anonymous one was made for
//   volumes/<name>/_data/           what containers see (bind-mounted)
//   volumes/<name>/users/<id>       a container that mounts it (valid while containers/<id>/ exists)
//   locks/volumes.lock              held while volumes are made, pinned or removed
// A volume in use is never removed; the pins make "in use" a directory listing, and a pin whose
// container is gone (a create that failed, a record removed by another tool) counts for nothing.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BerthError, fromSystemError, invalid, notFound, precondition } from '../oci/errors.ts';
import { quote } from '../oci/quote.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../image/store-permissions.ts';
import { withLock } from './container-lock.ts';
import { writeDurably } from './record-store.ts';

export interface Volume {
  name: string;
  created: string;
  labels?: Record<string, string>;
  /** The container this anonymous volume was made for (removed with it by `rm -v` and `--rm`). */
  anonymousFor?: string;
}

export interface VolumeInfo extends Volume {
  mountpoint: string;
  /** Containers mounting it. */
  usedBy: string[];
}

export const VOLUME_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

const run = promisify(execFile);

export class VolumeStore {
  readonly dir: string;
  private readonly lockPath: string;
  private readonly containersDir: string;

  constructor(root: string) {
    this.dir = join(root, 'volumes');
    this.lockPath = join(root, 'locks', 'volumes.lock');
    this.containersDir = join(root, 'containers');
  }

  /** The directory containers see. */
  dataPath(name: string): string {
    return join(this.dir, name, '_data');
  }

  /** Runs `fn` holding the volumes lock. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    mkdirSync(join(this.lockPath, '..'), { recursive: true, mode: PRIVATE_DIR_MODE });
    return withLock(this.lockPath, fn);
  }

  get(name: string): Volume | undefined {
    if (!VOLUME_NAME_PATTERN.test(name)) return undefined;
    try {
      return JSON.parse(readFileSync(join(this.dir, name, 'meta.json'), 'utf8')) as Volume;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fromSystemError(err, 'read volume', join(this.dir, name, 'meta.json'));
    }
  }

  list(): Volume[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .map((n) => this.get(n))
      .filter((v): v is Volume => v !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  info(name: string): VolumeInfo {
    const v = this.get(name);
    if (!v) throw notFound(`no such volume: ${quote(name)}`, { field: 'volume' });
    return { ...v, mountpoint: this.dataPath(name), usedBy: this.usedBy(name) };
  }

  /** Makes a volume (call under `locked`); one that exists is returned as it is. */
  create(name: string, opts: { labels?: Record<string, string>; anonymousFor?: string } = {}): { volume: Volume; created: boolean } {
    if (!VOLUME_NAME_PATTERN.test(name)) throw invalid(`invalid volume name ${quote(name)}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]+`, { field: 'volume' });
    const existing = this.get(name);
    if (existing) return { volume: existing, created: false };
    const volume: Volume = { name, created: new Date().toISOString(), ...(opts.labels ? { labels: opts.labels } : {}), ...(opts.anonymousFor ? { anonymousFor: opts.anonymousFor } : {}) };
    const home = join(this.dir, name);
    try {
      mkdirSync(this.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
      mkdirSync(home, { mode: PRIVATE_DIR_MODE });
      mkdirSync(join(home, '_data'), { mode: 0o755 });
      mkdirSync(join(home, 'users'), { mode: PRIVATE_DIR_MODE });
    } catch (err) {
      rmSync(home, { recursive: true, force: true });
      throw fromSystemError(err, 'create volume', home);
    }
    writeDurably(join(home, 'meta.json'), JSON.stringify(volume));
    return { volume, created: true };
  }

  /** Records that container `id` mounts the volume (under `locked`). */
  pin(name: string, id: string): void {
    writeFileSync(join(this.dir, name, 'users', id), '', { mode: PRIVATE_FILE_MODE });
  }

  unpin(name: string, id: string): void {
    rmSync(join(this.dir, name, 'users', id), { force: true });
  }

  /**
   * Containers that mount it: pins whose container still exists. A pin is made once its
   * container's directory is, so one without it is stale for good (that container was removed)
   * and goes.
   */
  usedBy(name: string): string[] {
    const users = join(this.dir, name, 'users');
    if (!existsSync(users)) return [];
    return readdirSync(users).filter((id) => {
      if (existsSync(join(this.containersDir, id))) return true;
      rmSync(join(users, id), { force: true });
      return false;
    });
  }

  isEmpty(name: string): boolean {
    return readdirSync(this.dataPath(name)).length === 0;
  }

  /**
   * Copies a directory of the container's rootfs (resolved inside it by the caller) into an
   * empty volume, owners, modes, times and links as they are, the volume's own root included
   * (docker's copy-up of the image's content on first use).
   */
  async fill(name: string, from: string): Promise<void> {
    if (!statSync(from).isDirectory()) return;
    try {
      await run('cp', ['-a', '--no-dereference', `${from}/.`, `${this.dataPath(name)}/`]);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new BerthError('internal', `volume ${name}: copying the image's ${from}: ${(e.stderr ?? e.message).trim()}`, { path: from });
    }
  }

  /** Removes a volume no container uses (under `locked`). */
  remove(name: string): void {
    if (!this.get(name)) throw notFound(`no such volume: ${quote(name)}`, { field: 'volume' });
    const users = this.usedBy(name);
    if (users.length) throw precondition(`volume ${quote(name)} is in use by container ${users.map((u) => u.slice(0, 12)).join(', ')}`, { field: 'volume' });
    // meta.json goes first: a removal cut short leaves no half volume that lists as whole.
    rmSync(join(this.dir, name, 'meta.json'), { force: true });
    rmSync(join(this.dir, name), { recursive: true, force: true });
  }

  /** Unused volumes: anonymous ones, or with `all` named ones too (docker's `volume prune [-a]`). */
  unused(all: boolean): string[] {
    return this.list()
      .filter((v) => (all || v.anonymousFor !== undefined) && this.usedBy(v.name).length === 0)
      .map((v) => v.name);
  }
}
