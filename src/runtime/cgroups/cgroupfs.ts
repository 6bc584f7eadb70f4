// The file-system edge of the cgroup code: reading and writing cgroupfs files, making and removing
// cgroup directories. Everything else in this folder decides; this file only does.
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BerthError, fromSystemError } from '../../oci/errors.ts';

export function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export async function readCgroupFile(dir: string, file: string): Promise<string> {
  const path = posix.join(dir, file);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw fromSystemError(err, 'read', path);
  }
}

/** The file's text, or undefined when it does not exist (a controller or kernel feature that is absent). */
export async function readCgroupFileIfExists(dir: string, file: string): Promise<string | undefined> {
  const path = posix.join(dir, file);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENODEV') return undefined;
    throw fromSystemError(err, 'read', path);
  }
}

export async function cgroupFileExists(dir: string, file: string): Promise<boolean> {
  try {
    statSync(posix.join(dir, file));
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw fromSystemError(err, 'stat', posix.join(dir, file));
  }
}

/**
 * Writes `value` with a single write(2): cgroupfs parses each write as one command (one device rule,
 * one io.max line). No O_CREAT: a missing file means a missing controller and must fail (ENOENT).
 * Rejects with the raw Node error so that callers can name the config field at fault.
 */
export async function writeCgroupFileRaw(dir: string, file: string, value: string): Promise<void> {
  const handle = openSync(posix.join(dir, file), constants.O_WRONLY | constants.O_TRUNC);
  try {
    const data = Buffer.from(value);
    const bytesWritten = writeSync(handle, data, 0, data.length);
    if (bytesWritten !== data.length) {
      throw Object.assign(new Error(`short write to ${file}`), { code: 'EIO' });
    }
  } finally {
    closeSync(handle);
  }
}

export async function writeCgroupFile(dir: string, file: string, value: string): Promise<void> {
  try {
    await writeCgroupFileRaw(dir, file, value);
  } catch (err) {
    throw fromSystemError(err, `write ${JSON.stringify(value)} to`, posix.join(dir, file));
  }
}

/**
 * Moves process `pid` into the cgroup at `dir`. EINVAL can mean the task is still being created
 * (TASK_NEW), so it is retried a few times as runc does.
 */
export async function addProcess(dir: string, pid: number): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new BerthError('invalid-argument', `cannot put pid ${pid} in a cgroup: not a process id`, { field: 'pid' });
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await writeCgroupFileRaw(dir, 'cgroup.procs', String(pid));
      return;
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'EINVAL' && attempt < 5) {
        await delay(30);
        continue;
      }
      const path = posix.join(dir, 'cgroup.procs');
      const why =
        errno === 'ENOENT' ? 'the cgroup does not exist (create it first)'
        : errno === 'ESRCH' ? 'no such process'
        : errno === 'EBUSY' ? 'the cgroup has controllers enabled for sub-cgroups, so it cannot hold processes'
        : (errno ?? String(err));
      throw new BerthError(errno === 'ESRCH' ? 'not-found' : errno === 'ENOENT' || errno === 'EBUSY' ? 'failed-precondition' : 'internal',
        `cannot move pid ${pid} into cgroup ${dir}: ${why}`, { path, op: 'write', errno }, { cause: err });
    }
  }
}

/** Pids listed in a cgroup.procs file. */
export function parseProcs(text: string): number[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => Number.parseInt(l, 10));
}

/** Pids in the cgroup at `dir`, and with `recursive` in all its sub-cgroups. */
export async function readProcs(dir: string, recursive = false): Promise<number[]> {
  const pids = parseProcs(await readCgroupFile(dir, 'cgroup.procs'));
  if (!recursive) return pids;
  for (const entry of await listSubdirs(dir)) pids.push(...(await readProcs(posix.join(dir, entry), true)));
  return pids;
}

async function listSubdirs(dir: string): Promise<string[]> {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw fromSystemError(err, 'readdir', dir);
  }
}

/**
 * Makes `dir` and any missing parents below `mountpoint`, calling `prepare` on each directory it
 * made, top-down (cpuset must copy its parent's cpus/mems before the next level can be used).
 * Returns the directories it made, top-down.
 */
export async function makeCgroupDirs(
  mountpoint: string,
  dir: string,
  prepare: (made: string) => Promise<void> = async () => {},
): Promise<string[]> {
  const rel = posix.relative(mountpoint, dir);
  if (rel === '' || rel.startsWith('..') || posix.isAbsolute(rel)) {
    throw new BerthError('invalid-argument', `cgroup ${dir} is not below its hierarchy's mountpoint ${mountpoint}`, { path: dir });
  }
  const made: string[] = [];
  let current = mountpoint;
  for (const part of rel.split('/')) {
    current = posix.join(current, part);
    try {
      mkdirSync(current, { mode: 0o755 });
      made.push(current);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw fromSystemError(err, 'mkdir', current);
    }
    await prepare(current);
  }
  return made;
}

/** rmdir of a cgroup and its sub-cgroups, deepest first. Already gone is success. */
export async function removeCgroupTree(dir: string): Promise<void> {
  try {
    rmdirSync(dir);
    return;
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'ENOENT') return;
    if (errno !== 'EBUSY' && errno !== 'ENOTEMPTY') throw fromSystemError(err, 'rmdir', dir);
  }
  for (const sub of await listSubdirs(dir)) await removeCgroupTree(posix.join(dir, sub));
  try {
    rmdirSync(dir);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw fromSystemError(err, 'rmdir', dir);
  }
}

export interface RemoveOptions {
  /** Tries before giving up (runc: 5). */
  attempts?: number;
  /** First pause between tries, doubled each time (runc: 10 ms). */
  firstDelayMs?: number;
}

/**
 * Removes cgroup directories, retrying while their last processes exit (rmdir fails with EBUSY
 * until a cgroup is empty). Never fails on a cgroup that is already gone.
 */
export async function removeCgroupDirs(dirs: string[], options: RemoveOptions = {}): Promise<void> {
  const attempts = options.attempts ?? 5;
  let pause = options.firstDelayMs ?? 10;
  let left = [...new Set(dirs)];
  let lastError: unknown;
  for (let i = 0; i < attempts && left.length > 0; i++) {
    if (i > 0) {
      await delay(pause);
      pause *= 2;
    }
    const still: string[] = [];
    for (const dir of left) {
      try {
        await removeCgroupTree(dir);
      } catch (err) {
        lastError = err;
        still.push(dir);
      }
    }
    left = still;
  }
  if (left.length > 0) {
    const cause = lastError instanceof BerthError ? lastError : undefined;
    throw new BerthError(
      'failed-precondition',
      `cannot remove cgroup ${left.join(', ')}: ${cause?.where.errno === 'EBUSY' ? 'processes are still in it' : (cause?.message ?? 'unknown error')}`,
      { op: 'rmdir', path: left[0], errno: cause?.where.errno },
      { cause: lastError },
    );
  }
}

/** rmdir of directories this manager made as parents, deepest first; ones still in use stay. */
export async function removeEmptyParents(dirs: string[]): Promise<void> {
  for (const dir of deepestFirst(dirs)) {
    try {
      rmdirSync(dir);
    } catch (err) {
      const errno = errnoOf(err);
      if (errno !== 'ENOENT' && errno !== 'EBUSY' && errno !== 'ENOTEMPTY') throw fromSystemError(err, 'rmdir', dir);
    }
  }
}

export function deepestFirst(dirs: string[]): string[] {
  return [...new Set(dirs)].sort((a, b) => b.split('/').length - a.split('/').length);
}

export async function directoryExists(dir: string): Promise<boolean> {
  try {
    return statSync(dir).isDirectory();
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw fromSystemError(err, 'stat', dir);
  }
}
