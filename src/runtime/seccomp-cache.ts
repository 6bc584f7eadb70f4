// Compiled seccomp filters, kept by the digest of what they were compiled from: the same profile
// (podman and containerd send the same default profile with every container) is compiled once
// per process, and once per state root across processes.
//
// The key covers the profile, the native architecture and the compiler itself: a bundle built
// from other seccomp sources (scripts/bundle.mjs defines __BERTH_SECCOMP_COMPILER__ as their
// digest) never reads an entry another build wrote. Run from sources, there is no such digest
// and only the in-process memo is used. An entry is checked as the kernel would check it before
// it is used; a bad one is compiled again.

import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Seccomp } from '../oci/runtime-spec.ts';
import { decodeProgram, seccompProgramProblem } from './seccomp/index.ts';

declare const __BERTH_SECCOMP_COMPILER__: string | undefined;
const COMPILER = typeof __BERTH_SECCOMP_COMPILER__ === 'string' ? __BERTH_SECCOMP_COMPILER__ : undefined;

/** What a plan's seccomp operation needs. */
export interface SeccompFilter {
  flags: number;
  program: Uint8Array;
}

const memo = new Map<string, SeccompFilter>();
let directory: string | undefined;

/**
 * Where compiled filters are kept between processes (berth-runtime: in the state root, whose
 * name for it no container id can take). Without, only this process remembers them.
 */
export function keepSeccompFiltersIn(dir: string | undefined): void {
  directory = dir;
}

export function seccompCacheKey(profile: Seccomp, compiler = COMPILER ?? 'sources'): string {
  return createHash('sha256').update(`${compiler}\0${process.arch}\0${JSON.stringify(profile)}`).digest('hex');
}

/** The filter for a profile: from the memo, the directory, or `compile` (then kept in both). */
export function cachedSeccompFilter(profile: Seccomp, compile: () => SeccompFilter): SeccompFilter {
  const key = seccompCacheKey(profile);
  const known = memo.get(key);
  if (known) return known;
  const file = COMPILER && directory ? join(directory, key) : undefined;
  let filter = file ? readEntry(file) : undefined;
  if (!filter) {
    filter = compile();
    if (file) writeEntry(file, filter);
  }
  memo.set(key, filter);
  return filter;
}

/** An entry: the flags as a little-endian u32, then the program. */
function readEntry(file: string): SeccompFilter | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return undefined;
  }
  if (data.length < 12 || (data.length - 4) % 8 !== 0) return undefined;
  const program = data.subarray(4);
  if (seccompProgramProblem(decodeProgram(program))) return undefined;
  return { flags: data.readUInt32LE(0), program };
}

function writeEntry(file: string, filter: SeccompFilter): void {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(filter.flags >>> 0, 0);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(directory!, { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, head);
      writeSync(fd, filter.program);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true }); // only a cache: the next create compiles again
  }
}
