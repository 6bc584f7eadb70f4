// bpf(2), which Node lacks: load a program, attach it to or detach it from a cgroup, and list what a
// cgroup has attached. Offsets are those of union bpf_attr and struct bpf_prog_info (linux/bpf.h);
// fields past the ones set stay zero, which the kernel reads as "not used".
import koffi from 'koffi';
import { BerthError, unimplemented } from '../oci/errors.ts';
import { errnoError, lastErrno, libc } from './libc.ts';

const syscall = libc.func('long syscall(long nr, ...)');
const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280 };

const CMD = { PROG_LOAD: 5, PROG_ATTACH: 8, PROG_DETACH: 9, PROG_GET_FD_BY_ID: 13, OBJ_GET_INFO_BY_FD: 15, PROG_QUERY: 16 } as const;
const CMD_NAME: Record<number, string> = Object.fromEntries(Object.entries(CMD).map(([k, v]) => [v, `BPF_${k}`]));

export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_MULTI = 1 << 1;
export const BPF_F_REPLACE = 1 << 2;
/** BPF_OBJ_NAME_LEN, the NUL included. */
export const BPF_OBJ_NAME_LEN = 16;

const ATTR_SIZE = 144;
const PROG_INFO_SIZE = 256;
const ENOENT = 2;
const ENOSPC = 28;

const address = (buf: Buffer): bigint => BigInt(koffi.address(buf) as bigint | number);

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
}

/** Runs one bpf(2) command; returns its result, or -1 with the errno in `lastErrno()`. */
function bpfRaw(cmd: number, attr: Buffer): number {
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) throw unimplemented(`bpf(2) is not wired up for ${process.arch}`, { op: 'bpf' });
  return Number(syscall(nr, 'int', cmd, 'void *', attr, 'uint', attr.length));
}

function bpf(cmd: number, attr: Buffer, path?: string): number {
  const r = bpfRaw(cmd, attr);
  if (r < 0) throw errnoError(`bpf(${CMD_NAME[cmd]})`, path);
  return r;
}

export interface ProgramToLoad {
  type: number;
  /** struct bpf_insn array. */
  insns: Uint8Array;
  license: string;
  /** Up to 15 characters of [A-Za-z0-9_.]: what bpftool and BPF_OBJ_GET_INFO_BY_FD show. */
  name: string;
}

/** Loads a program and returns its fd. A program the verifier rejects fails with the verifier's log. */
export function bpfProgLoad(p: ProgramToLoad): number {
  const insns = Buffer.from(p.insns);
  const license = Buffer.from(`${p.license}\0`, 'latin1');
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(p.type, 0);
  attr.writeUInt32LE(insns.length / 8, 4);
  attr.writeBigUInt64LE(address(insns), 8);
  attr.writeBigUInt64LE(address(license), 16);
  attr.write(p.name.slice(0, BPF_OBJ_NAME_LEN - 1), 48, 'latin1');
  const fd = bpfRaw(CMD.PROG_LOAD, attr);
  if (fd >= 0) return fd;
  const errno = lastErrno();
  // Load again with the verifier's log, for the error message.
  const log = Buffer.alloc(1 << 16);
  attr.writeUInt32LE(1, 24);
  attr.writeUInt32LE(log.length, 28);
  attr.writeBigUInt64LE(address(log), 32);
  const again = bpfRaw(CMD.PROG_LOAD, attr);
  if (again >= 0) return again;
  const err = errnoError('bpf(BPF_PROG_LOAD)', undefined, errno);
  const text = cString(log).trim();
  if (!text) throw err;
  const tail = text.split('\n').slice(-6).join(' | ');
  throw new BerthError(err.kind, `${err.message}; the verifier said: ${tail}`, err.where, { cause: err });
}

export interface Attachment {
  /** The cgroup directory's fd. */
  targetFd: number;
  progFd: number;
  attachType: number;
  /** BPF_F_*; with BPF_F_REPLACE, `replaceFd` is the program swapped out in the same step. */
  flags?: number;
  replaceFd?: number;
}

export function bpfProgAttach(a: Attachment, path?: string): void {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(a.targetFd, 0);
  attr.writeUInt32LE(a.progFd, 4);
  attr.writeUInt32LE(a.attachType, 8);
  attr.writeUInt32LE(a.flags ?? 0, 12);
  attr.writeUInt32LE(a.replaceFd ?? 0, 16);
  bpf(CMD.PROG_ATTACH, attr, path);
}

export function bpfProgDetach(a: Omit<Attachment, 'flags' | 'replaceFd'>, path?: string): void {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(a.targetFd, 0);
  attr.writeUInt32LE(a.progFd, 4);
  attr.writeUInt32LE(a.attachType, 8);
  bpf(CMD.PROG_DETACH, attr, path);
}

/** Ids of the programs attached to the cgroup itself (not those inherited from its parents). */
export function bpfProgQuery(targetFd: number, attachType: number, path?: string): number[] {
  for (let capacity = 64; ; capacity *= 4) {
    const ids = Buffer.alloc(capacity * 4);
    const attr = Buffer.alloc(ATTR_SIZE);
    attr.writeUInt32LE(targetFd, 0);
    attr.writeUInt32LE(attachType, 4);
    attr.writeBigUInt64LE(address(ids), 16);
    attr.writeUInt32LE(capacity, 24);
    if (bpfRaw(CMD.PROG_QUERY, attr) < 0) {
      if (lastErrno() === ENOSPC && capacity < 1 << 16) continue;
      throw errnoError('bpf(BPF_PROG_QUERY)', path);
    }
    const count = attr.readUInt32LE(24);
    return Array.from({ length: count }, (_, i) => ids.readUInt32LE(i * 4));
  }
}

/** An fd for the program with this id, or undefined when it no longer exists. */
export function bpfProgGetFdById(id: number): number | undefined {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(id, 0);
  const fd = bpfRaw(CMD.PROG_GET_FD_BY_ID, attr);
  if (fd >= 0) return fd;
  if (lastErrno() === ENOENT) return undefined;
  throw errnoError(`bpf(BPF_PROG_GET_FD_BY_ID) of program ${id}`);
}

export interface ProgramInfo {
  type: number;
  id: number;
  /** The kernel's hash of the instructions, as hex (bpftool's "tag"). */
  tag: string;
  name: string;
}

export function bpfProgInfo(progFd: number): ProgramInfo {
  const info = Buffer.alloc(PROG_INFO_SIZE);
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(progFd, 0);
  attr.writeUInt32LE(info.length, 4);
  attr.writeBigUInt64LE(address(info), 8);
  bpf(CMD.OBJ_GET_INFO_BY_FD, attr);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    tag: info.subarray(8, 16).toString('hex'),
    name: cString(info.subarray(64, 64 + BPF_OBJ_NAME_LEN)),
  };
}
