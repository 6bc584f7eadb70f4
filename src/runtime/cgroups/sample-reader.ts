// Reads a CgroupSample of a running container: finds its cgroup directories the way the runtime
// made them (from linux.cgroupsPath, or the cgroup record kept in the runtime's state file), reads
// the files sample.ts names, and leaves out what is not there. A cgroup that is gone is NotFound.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fromSystemError, notFound } from '../../oci/errors.ts';
import { parseProcCgroup, type CgroupHierarchy, type CgroupHost } from './cgroup-host.ts';
import { directoryExists, readCgroupFileIfExists, readProcs } from './cgroupfs.ts';
import { parseCgroupsPath, resolveCgroupPaths, type CgroupsPathOptions } from './cgroups-path.ts';
import type { CgroupManagerRecord } from './manager-record.ts';
import {
  sampleFromV1, sampleFromV2, V1_SAMPLE_FILES, V2_SAMPLE_FILES,
  type CgroupSample, type SampleTexts, type V1SampleFile, type V1SampleInput,
} from './sample.ts';

export type SampleDirs =
  | { mode: 'v1'; /** Controller -> cgroup directory. */ paths: Readonly<Record<string, string>> }
  | { mode: 'v2'; path: string };

/**
 * The directories of container `id` whose config.json has `cgroupsPath` (pure). A relative path
 * resolves below the cgroup of the process that calls this, as it did for the runtime that
 * created the container: call it from a process in the same cgroup, or use the state record.
 */
export function sampleDirsFor(host: CgroupHost, cgroupsPath: string | undefined, id: string, options: CgroupsPathOptions = {}): SampleDirs {
  const resolved = resolveCgroupPaths(host, parseCgroupsPath(cgroupsPath, id, options), { skipDevices: true });
  if (host.mode === 'v2') return { mode: 'v2', path: resolved.paths.unified! };
  return { mode: 'v1', paths: resolved.paths };
}

/** The directories saved in the runtime's state file (CgroupManager.toJSON()). */
export function sampleDirsFromRecord(record: CgroupManagerRecord): SampleDirs {
  return record.mode === 'v2' ? { mode: 'v2', path: record.path } : { mode: 'v1', paths: record.paths };
}

/** A cgroup path from /proc/<pid>/cgroup as a directory under a hierarchy's mountpoint. */
function dirOnHierarchy(h: CgroupHierarchy, cgroup: string): string | undefined {
  const root = h.mountRoot === '/' ? '' : h.mountRoot.replace(/\/$/, '');
  if (root && cgroup !== root && !cgroup.startsWith(`${root}/`)) return undefined; // not visible through this mount
  const dir = posix.join(h.mountpoint, cgroup.slice(root.length));
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

/**
 * The directories of the cgroups a process is in, from its /proc/<pid>/cgroup text (pure): what
 * any runtime (berth's, runc, crun) put the container in, whichever cgroup the caller is in.
 */
export function sampleDirsOfProcess(host: CgroupHost, procCgroupText: string): SampleDirs {
  const entries = parseProcCgroup(procCgroupText);
  if (host.mode === 'v2') {
    const path = entries.get('');
    const dir = path === undefined ? undefined : dirOnHierarchy(host.unified, path);
    if (!dir) throw notFound('the process is in no cgroup of the unified hierarchy', { path: host.unified.mountpoint });
    return { mode: 'v2', path: dir };
  }
  const paths: Record<string, string> = {};
  for (const h of host.hierarchies) {
    const entry = [...entries.entries()].find(([list]) => h.controllers.every((c) => list.split(',').includes(c)));
    const dir = entry && dirOnHierarchy(h, entry[1]);
    if (dir) for (const c of h.controllers) paths[c] = dir;
  }
  const unified = host.unified && entries.get('');
  if (host.unified && unified !== undefined) {
    const dir = dirOnHierarchy(host.unified, unified);
    if (dir) paths.unified = dir;
  }
  return { mode: 'v1', paths };
}

/** sampleDirsOfProcess for a live process; NotFound when it is gone. */
export function processCgroupDirs(host: CgroupHost, pid: number): SampleDirs {
  const file = `/proc/${pid}/cgroup`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') {
      throw notFound(`process ${pid} is gone`, { path: file });
    }
    throw fromSystemError(err, 'read', file);
  }
  return sampleDirsOfProcess(host, text);
}

/** The pids in the cgroup and its sub-cgroups (v2, else v1's pids, memory or cpuacct hierarchy). */
export async function cgroupProcesses(dirs: SampleDirs): Promise<number[]> {
  const dir = dirs.mode === 'v2' ? dirs.path : (dirs.paths.pids ?? dirs.paths.memory ?? dirs.paths.cpuacct ?? dirs.paths.cpu);
  if (!dir || !(await directoryExists(dir))) throw gone(dir ?? '(no cgroup directory)');
  return readProcs(dir, true);
}

/** Unix time in nanoseconds (sub-millisecond resolution, for CPU rates over short intervals). */
export function unixNowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

async function readTexts<F extends string>(dir: string, files: readonly F[]): Promise<SampleTexts<F>> {
  const out: { [K in F]?: string } = {};
  for (const file of files) {
    const text = await readCgroupFileIfExists(dir, file);
    if (text !== undefined) out[file] = text;
  }
  return out;
}

function gone(where: string): Error {
  return notFound(`the cgroup ${where} does not exist (the container is not running or was removed)`, { path: where });
}

export async function readCgroupSample(dirs: SampleDirs, now: () => bigint = unixNowNs): Promise<CgroupSample> {
  const timestampNs = now();
  if (dirs.mode === 'v2') {
    if (!(await directoryExists(dirs.path))) throw gone(dirs.path);
    const texts = await readTexts(dirs.path, V2_SAMPLE_FILES);
    // Removed while we read: the files that vanished would look like absent controllers.
    if (!(await directoryExists(dirs.path))) throw gone(dirs.path);
    return sampleFromV2({ texts, dir: dirs.path, timestampNs });
  }
  const texts: { -readonly [C in keyof V1SampleInput['texts']]: SampleTexts<V1SampleFile> } = {};
  const used: string[] = [];
  for (const controller of Object.keys(V1_SAMPLE_FILES) as Array<keyof typeof V1_SAMPLE_FILES>) {
    const dir = dirs.paths[controller];
    if (!dir || !(await directoryExists(dir))) continue;
    texts[controller] = await readTexts<V1SampleFile>(dir, V1_SAMPLE_FILES[controller]);
    used.push(dir);
  }
  const anyDir = Object.values(dirs.paths)[0] ?? '(no cgroup directory)';
  if (used.length === 0) throw gone(anyDir);
  for (const dir of used) if (!(await directoryExists(dir))) throw gone(dir);
  return sampleFromV1({ texts, dirs: dirs.paths, timestampNs });
}
