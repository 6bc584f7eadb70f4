// One sealed in-memory copy of berth-spawn for a long-lived process (berthd) to run all its
// helpers and monitors from. berth-spawn protects itself against CVE-2019-5736 by re-executing
// from a sealed memfd copy unless it already runs from one; started from a copy that is sealed
// already, it skips that step, so every monitor shares the copy's pages (each private copy would
// cost ~0.8 MiB per monitor, and a copy of the binary at every spawn).
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { BerthError } from '../oci/errors.ts';
import { spawnBinary, useSpawnBinary } from './berth-spawn.ts';
import { errnoError, libc } from './libc.ts';

const memfdCreate = libc.func('int memfd_create(const char *name, unsigned int flags)');
const fcntl = libc.func('int fcntl(int fd, int cmd, ...)');

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 0x1;
const F_SEAL_SHRINK = 0x2;
const F_SEAL_GROW = 0x4;
const F_SEAL_WRITE = 0x8;

/**
 * Copies berth-spawn into a sealed memfd this process keeps open and makes later spawns run it
 * through /proc/<pid>/fd/<fd> (the fd itself is close-on-exec). Returns that path.
 */
export function useSealedSpawnBinary(): string {
  const source = spawnBinary();
  const bytes = readFileSync(source);
  const fd = memfdCreate('berth-spawn', MFD_CLOEXEC | MFD_ALLOW_SEALING) as number;
  if (fd < 0) throw errnoError('memfd_create', source);
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    if ((fcntl(fd, F_ADD_SEALS, 'int', F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) as number) < 0) throw errnoError('fcntl F_ADD_SEALS', source);
  } catch (err) {
    closeSync(fd);
    throw err instanceof BerthError ? err : new BerthError('internal', `a sealed copy of ${source}: ${(err as Error).message}`, { path: source });
  }
  const path = `/proc/${process.pid}/fd/${fd}`;
  useSpawnBinary(path);
  return path;
}
