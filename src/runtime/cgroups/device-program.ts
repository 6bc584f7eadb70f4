// Puts a compiled device program on a cgroup v2 directory in place of the one berth attached
// before, so that the cgroup is never without one: with one earlier program, BPF_F_REPLACE swaps
// it in a single step (Linux 5.6+); otherwise the new program is attached first (both then apply:
// a device must pass every program) and the old ones are detached after. Programs that are not
// berth's (found by name) are left in place: an extra device program can only deny more.
// Import it dynamically (as manager-v2 does): src/sys/bpf.ts loads koffi, which berth-runtime's
// start-up snapshot cannot hold.
import { closeSync, constants, openSync } from 'node:fs';
import { BerthError, fromSystemError } from '../../oci/errors.ts';
import {
  BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_F_REPLACE, BPF_PROG_TYPE_CGROUP_DEVICE, bpfProgAttach, bpfProgDetach, bpfProgGetFdById,
  bpfProgInfo, bpfProgLoad, bpfProgQuery, type ProgramInfo,
} from '../../sys/bpf.ts';

/** The name berth gives its device programs (what `bpftool cgroup show` lists). */
export const DEVICE_PROGRAM_NAME = 'berth_devices';
// The kernel asks for a GPL-compatible license only of programs that call GPL-only helpers; this
// one calls none, so it carries berth's own.
const LICENSE = 'Apache-2.0';
const FIELD = 'linux.resources.devices';

const errnoOf = (err: unknown): string | undefined => (err instanceof BerthError ? err.where.errno : undefined);

function openDir(dir: string): number {
  try {
    return openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    throw fromSystemError(err, 'open', dir);
  }
}

/** The device programs attached to the cgroup itself, each with an open fd. */
function attachedWithFds(dirFd: number, dir: string): Array<ProgramInfo & { fd: number }> {
  const out: Array<ProgramInfo & { fd: number }> = [];
  for (const id of bpfProgQuery(dirFd, BPF_CGROUP_DEVICE, dir)) {
    const fd = bpfProgGetFdById(id);
    if (fd === undefined) continue; // detached and freed since the query
    try {
      out.push({ ...bpfProgInfo(fd), fd });
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
  return out;
}

/** What is attached to the cgroup directory for BPF_CGROUP_DEVICE, in the kernel's order. */
export function deviceProgramsOf(dir: string): ProgramInfo[] {
  const dirFd = openDir(dir);
  try {
    const programs = attachedWithFds(dirFd, dir);
    for (const p of programs) closeSync(p.fd);
    return programs.map(({ fd: _fd, ...info }) => info);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * Loads `insns` and makes it the cgroup's berth device program. A failure up to the attach changes
 * nothing; one detaching the old program after it leaves both attached (the stricter of the two).
 */
export function attachDeviceProgram(dir: string, insns: Uint8Array): void {
  const fds: number[] = [];
  try {
    fds.push(openDir(dir));
    const dirFd = fds[0]!;
    const progFd = bpfProgLoad({ type: BPF_PROG_TYPE_CGROUP_DEVICE, insns, license: LICENSE, name: DEVICE_PROGRAM_NAME });
    fds.push(progFd);
    const current = attachedWithFds(dirFd, dir);
    fds.push(...current.map((p) => p.fd));
    const ours = current.filter((p) => p.name === DEVICE_PROGRAM_NAME);
    const target = { targetFd: dirFd, progFd, attachType: BPF_CGROUP_DEVICE };
    if (ours.length === 1) {
      try {
        bpfProgAttach({ ...target, flags: BPF_F_ALLOW_MULTI | BPF_F_REPLACE, replaceFd: ours[0]!.fd }, dir);
        return;
      } catch (err) {
        // EINVAL: a kernel without BPF_F_REPLACE; ENOENT: the old program went away meanwhile.
        if (errnoOf(err) !== 'EINVAL' && errnoOf(err) !== 'ENOENT') throw err;
      }
    }
    bpfProgAttach({ ...target, flags: BPF_F_ALLOW_MULTI }, dir);
    for (const old of ours) {
      try {
        bpfProgDetach({ targetFd: dirFd, progFd: old.fd, attachType: BPF_CGROUP_DEVICE }, dir);
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw err;
      }
    }
  } catch (err) {
    const e = err instanceof BerthError ? err : fromSystemError(err, 'bpf', dir);
    const hint = e.where.errno === 'EBADF' ? ' (not a cgroup v2 directory)' : e.where.errno === 'EPERM' ? ' (bpf(2) needs CAP_SYS_ADMIN, or CAP_BPF and CAP_NET_ADMIN, in the host user namespace)' : '';
    throw new BerthError(e.kind, `cannot enforce ${FIELD} on cgroup v2 (eBPF device program for ${dir}): ${e.message}${hint}`, {
      ...e.where,
      field: FIELD,
      path: dir,
    }, { cause: err });
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
