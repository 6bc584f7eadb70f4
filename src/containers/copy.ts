// `berth cp`: files between a container's rootfs and the host (or a tar stream), in both
// directions, with docker's naming rules (planCopy, pure). Inside the container every path is
// resolved by the kernel below the rootfs (copy-reader.ts, copy-writer.ts): a symlink in the
// container never leads to a host path outside it, for reading or writing, even one swapped in
// while the copy runs.
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { posix } from 'node:path';
import { quote } from '../oci/quote.ts';
import { BerthError, notFound, precondition } from '../oci/errors.ts';
import { TarParser } from '../image/tar-parser.ts';
import { O_PATH, openat2, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS } from '../sys/openat2.ts';
import { openInRoot, treeTar } from './copy-reader.ts';
import { TreeWriter } from './copy-writer.ts';
import { processAlive } from '../sys/proc.ts';
import type { ServiceContext } from './service-context.ts';

/** Where the copy goes: the directory to open and what the source's top entry is called in it. */
export interface CopyTarget {
  dir: string;
  /** The top entry's name; '' to merge its contents into `dir`; undefined: the source's own name. */
  rename?: string;
}

export interface SourceFacts {
  isDir: boolean;
  /** SRC ended in `/.`: the directory's contents, not the directory. */
  contentsOnly: boolean;
}

/** docker cp's rules: DEST an existing directory takes SRC inside it; anything else is SRC's new name. */
export function planCopy(src: SourceFacts, dest: string, destStat: { isDir: boolean } | undefined): CopyTarget {
  if (destStat?.isDir) return src.contentsOnly ? { dir: dest, rename: '' } : { dir: dest };
  if (destStat && src.isDir) throw precondition(`cannot copy a directory to a file: ${dest}`, { path: dest });
  if (!destStat && dest.endsWith('/') && !src.isDir) throw notFound(`the destination directory ${dest} does not exist`, { path: dest });
  const trimmed = dest.replace(/\/+$/, '') || '/';
  return { dir: posix.dirname(trimmed), rename: posix.basename(trimmed) };
}

/**
 * SRC's name in the archive and whether only its contents go ('.' then, as docker's stream has
 * it; a tree writer always renames such a top entry: planCopy gives it '' or DEST's name).
 */
export function sourceName(path: string): { name: string; contentsOnly: boolean } {
  // The root has no name of its own: its contents are copied, as with `/.`.
  const contentsOnly = /(^|\/)\.$/.test(path) || /^\/+$/.test(path);
  const trimmed = path.replace(/\/\.$/, '').replace(/\/+$/, '');
  return { name: contentsOnly ? '.' : posix.basename(trimmed) || '.', contentsOnly };
}

export type CopyEnd = { host: string } | { stream: true };

/**
 * The container's root as its processes see it: a running one's through its init's /proc root,
 * with the volumes and binds mounted in its own mount namespace (as `docker cp` sees them); a
 * stopped one's rootfs directory.
 */
function rootfsFd(ctx: ServiceContext, id: string): { fd: number; name: string } {
  const record = ctx.records.read(id);
  const init = record.init;
  if (init && processAlive(init.pid, init.startTime || undefined)) {
    try {
      const fd = openSync(`/proc/${init.pid}/root`, constants.O_RDONLY | constants.O_DIRECTORY);
      // Checked again once open: a pid reused meanwhile would be another process's root.
      if (processAlive(init.pid, init.startTime || undefined)) return { fd, name: record.name };
      closeSync(fd);
    } catch {
      // ended meanwhile: its rootfs directory below
    }
  }
  try {
    return { fd: openSync(ctx.records.files(id).rootfs, constants.O_RDONLY | constants.O_DIRECTORY), name: record.name };
  } catch {
    throw precondition(`container ${quote(record.name)} has no root filesystem to copy with`, { field: 'container' });
  }
}

function noSuchPath(err: unknown, container: string, path: string): never {
  if (err instanceof BerthError && err.where.errno === 'ENOENT') throw notFound(`no such file or directory in container ${quote(container)}: ${path}`, { path });
  throw err;
}

/** Copies `path` out of the container into `dest`, or as a tar stream to `write`. */
export async function copyFromContainer(ctx: ServiceContext, id: string, path: string, dest: CopyEnd, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  const { fd: rootFd, name: container } = rootfsFd(ctx, id);
  try {
    const src = sourceName(path);
    let fd: number;
    try {
      fd = openInRoot(rootFd, src.contentsOnly ? path.replace(/\.$/, '') : path);
    } catch (err) {
      noSuchPath(err, container, path);
    }
    if ('stream' in dest) {
      for (const chunk of treeTar(fd, src.name)) await write(chunk);
      return;
    }
    const isDir = fstatSync(fd).isDirectory();
    const target = planCopy({ isDir, contentsOnly: src.contentsOnly }, dest.host, hostStat(dest.host));
    const dirFd = openHostDir(target.dir);
    const writer = new TreeWriter(dirFd, target.dir, target.rename);
    try {
      pipe(treeTar(fd, writerName(src)), writer);
    } finally {
      writer.close();
      closeSync(dirFd);
    }
  } finally {
    closeSync(rootFd);
  }
}

/** Copies the host's `source` (or a tar stream) into the container at `path`. */
export async function copyToContainer(ctx: ServiceContext, id: string, source: CopyEnd, path: string, chunks: () => AsyncIterable<Buffer>): Promise<void> {
  const containerStat = (rootFd: number, p: string): { isDir: boolean } | undefined => {
    try {
      // The destination may be reached through symlinks, resolved inside the rootfs.
      const fd = openat2(rootFd, p, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
      const isDir = fstatSync(fd).isDirectory();
      closeSync(fd);
      return { isDir };
    } catch {
      return undefined;
    }
  };
  const rootFd = rootfsFd(ctx, id);
  try {
    const destStat = containerStat(rootFd.fd, path);
    let target: CopyTarget;
    if ('stream' in source) {
      if (!destStat?.isDir) throw notFound(`the destination directory ${path} does not exist in container ${quote(rootFd.name)}`, { path });
      target = { dir: path };
    } else {
      const src = sourceName(source.host);
      const hostFd = openHostEntry(src.contentsOnly ? source.host.replace(/\.$/, '') : source.host);
      const isDir = fstatSync(hostFd).isDirectory();
      closeSync(hostFd);
      target = planCopy({ isDir, contentsOnly: src.contentsOnly }, path, destStat);
    }
    let dirFd: number;
    try {
      dirFd = openat2(rootFd.fd, target.dir, O_PATH | constants.O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    } catch (err) {
      noSuchPath(err, rootFd.name, target.dir);
    }
    const writer = new TreeWriter(dirFd, `${rootFd.name}:${target.dir.replace(/\/$/, '')}`, target.rename);
    try {
      if ('stream' in source) {
        const parser = new TarParser(writer);
        for await (const chunk of chunks()) parser.push(chunk);
        parser.end();
      } else {
        const src = sourceName(source.host);
        pipe(treeTar(openHostEntry(src.contentsOnly ? source.host.replace(/\.$/, '') : source.host), writerName(src)), writer);
      }
    } finally {
      writer.close();
      closeSync(dirFd);
    }
  } finally {
    closeSync(rootFd.fd);
  }
}

/** The top entry's name for a tree writer, which renames it: any single component does for `.`. */
const writerName = (src: { name: string; contentsOnly: boolean }): string => (src.contentsOnly ? 'contents' : src.name);

function pipe(tar: Iterable<Buffer>, writer: TreeWriter): void {
  const parser = new TarParser(writer);
  for (const chunk of tar) parser.push(chunk);
  parser.end();
}

const AT_FDCWD = -100;

function hostStat(path: string): { isDir: boolean } | undefined {
  try {
    const fd = openat2(AT_FDCWD, path, O_PATH, 0);
    const isDir = fstatSync(fd).isDirectory();
    closeSync(fd);
    return { isDir };
  } catch {
    return undefined;
  }
}

/** A host path, its final symlink not followed (copied as a symlink, as docker does). */
function openHostEntry(path: string): number {
  try {
    return openat2(AT_FDCWD, path, O_PATH | constants.O_NOFOLLOW, 0);
  } catch (err) {
    if (err instanceof BerthError && err.where.errno === 'ENOENT') throw notFound(`no such file or directory: ${path}`, { path });
    throw err;
  }
}

function openHostDir(path: string): number {
  try {
    return openat2(AT_FDCWD, path, O_PATH | constants.O_DIRECTORY, 0);
  } catch (err) {
    if (err instanceof BerthError && err.where.errno === 'ENOENT') throw notFound(`the destination directory ${path} does not exist`, { path });
    throw err;
  }
}
