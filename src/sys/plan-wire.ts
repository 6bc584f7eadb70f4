// Encoder and decoder of the plan wire format read by native/plan.c:
//   header: "BPLN", u32 version, u32 op count, u32 body length
//   op:     u16 opcode, u16 argc, then per argument u32 length + bytes
// Integers are u64 little endian; strings carry no NUL; lists are NUL-terminated strings.

import type { NamespaceType } from '../oci/runtime-spec.ts';
import { CLONE_FLAG } from './kernel-constants.ts';
import { OPCODES, type OpKind, type Plan, type PlanOp } from './plan-ops.ts';

export const PLAN_MAGIC = 'BPLN';
export const PLAN_VERSION = 1;

export type Codec =
  | 'str' // string ('' on the wire for null)
  | 'nstr' // nullable string
  | 'num' // number as u64
  | 'big' // bigint as u64
  | 'bool'
  | 'list' // string[]
  | 'gids' // number[] as u32 array
  | 'bytes' // Uint8Array
  | 'ns' // one NamespaceType as its CLONE_ flag
  | 'nslist'; // NamespaceType[] as OR of CLONE_ flags

// The argument layout of each operation, in wire order: the one schema of the plan contract.
// native/plan-ops.generated.h is generated from it (scripts/gen-plan-header.ts).
export const PLAN_LAYOUT: { [K in OpKind]: Array<[string, Codec]> } = {
  setns: [['ns', 'ns'], ['path', 'str']],
  clone: [['namespaces', 'nslist'], ['wait', 'bool']],
  sync: [['point', 'str'], ['last', 'bool']],
  unshare: [['namespaces', 'nslist']],
  'open-root': [['path', 'str']],
  mount: [['source', 'nstr'], ['target', 'str'], ['fstype', 'nstr'], ['flags', 'num'], ['data', 'nstr'], ['inRoot', 'bool']],
  mkdir: [['path', 'str'], ['mode', 'num']],
  mkfile: [['path', 'str'], ['mode', 'num']],
  symlink: [['target', 'str'], ['path', 'str']],
  mknod: [['path', 'str'], ['mode', 'num'], ['major', 'num'], ['minor', 'num'], ['uid', 'num'], ['gid', 'num']],
  'pivot-root': [['path', 'str']],
  'move-root': [['path', 'str']],
  sethostname: [['name', 'str']],
  setdomainname: [['name', 'str']],
  setrlimit: [['resource', 'num'], ['soft', 'big'], ['hard', 'big']],
  setgroups: [['gids', 'gids']],
  setgid: [['gid', 'num']],
  setuid: [['uid', 'num']],
  umask: [['mask', 'num']],
  'no-new-privs': [],
  'keep-caps': [],
  chdir: [['path', 'str']],
  'open-fifo': [['path', 'str']],
  'connect-console': [['path', 'str']],
  console: [['rows', 'num'], ['cols', 'num'], ['bindConsole', 'bool']],
  'resolve-exec': [['file', 'str'], ['searchPath', 'str']],
  'wait-start': [],
  hook: [['path', 'str'], ['args', 'list'], ['env', 'list'], ['timeout', 'num']],
  execve: [['args', 'list'], ['env', 'list']],
  'close-fds': [['keep', 'num']],
  chroot: [['path', 'str']],
  umount: [['path', 'str'], ['flags', 'num']],
  setsid: [],
  'write-file': [['path', 'str'], ['data', 'str'], ['requireProcfs', 'bool']],
  'mask-path': [['path', 'str'], ['readonly', 'bool']],
  capset: [
    ['bounding', 'big'],
    ['effective', 'big'],
    ['permitted', 'big'],
    ['inheritable', 'big'],
    ['ambient', 'big'],
    ['lastCap', 'num'],
    ['phase', 'num'],
  ],
  seccomp: [['flags', 'num'], ['program', 'bytes']],
  personality: [['persona', 'num']],
  mkfifo: [['path', 'str'], ['mode', 'num']],
  'reopen-dev-null': [],
  'mount-setattr': [['path', 'str'], ['set', 'big'], ['clear', 'big'], ['propagation', 'big'], ['recursive', 'bool']],
};

const KIND_OF = new Map<number, OpKind>(Object.entries(OPCODES).map(([k, v]) => [v, k as OpKind]));
const NS_OF_FLAG = new Map<number, NamespaceType>(Object.entries(CLONE_FLAG).map(([k, v]) => [v, k as NamespaceType]));

function u64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, value));
  return b;
}

function encodeArg(codec: Codec, value: unknown): Buffer {
  switch (codec) {
    case 'str':
    case 'nstr':
      return Buffer.from((value as string | null) ?? '', 'utf8');
    case 'num':
      return u64(BigInt(value as number));
    case 'big':
      return u64(value as bigint);
    case 'bool':
      return u64(value ? 1n : 0n);
    case 'list':
      return Buffer.concat((value as string[]).map((s) => Buffer.from(`${s}\0`, 'utf8')));
    case 'gids': {
      const gids = value as number[];
      const b = Buffer.alloc(gids.length * 4);
      gids.forEach((g, i) => b.writeUInt32LE(g, i * 4));
      return b;
    }
    case 'bytes':
      return Buffer.from(value as Uint8Array);
    case 'ns':
      return u64(BigInt(CLONE_FLAG[value as NamespaceType]));
    case 'nslist':
      return u64(BigInt((value as NamespaceType[]).reduce((acc, ns) => acc | CLONE_FLAG[ns], 0) >>> 0));
  }
}

function fieldValue(op: PlanOp, field: string): unknown {
  if (op.kind === 'capset' && field === 'phase') return op.phase === 'bounding' ? 0 : 1;
  return (op as unknown as Record<string, unknown>)[field];
}

export function encodePlan(plan: Plan): Buffer {
  const parts: Buffer[] = [];
  for (const op of plan) {
    const layout = PLAN_LAYOUT[op.kind];
    const head = Buffer.alloc(4);
    head.writeUInt16LE(OPCODES[op.kind], 0);
    head.writeUInt16LE(layout.length, 2);
    parts.push(head);
    for (const [field, codec] of layout) {
      const arg = encodeArg(codec, fieldValue(op, field));
      const len = Buffer.alloc(4);
      len.writeUInt32LE(arg.length);
      parts.push(len, arg);
    }
  }
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(16);
  header.write(PLAN_MAGIC, 0, 'ascii');
  header.writeUInt32LE(PLAN_VERSION, 4);
  header.writeUInt32LE(plan.length, 8);
  header.writeUInt32LE(body.length, 12);
  return Buffer.concat([header, body]);
}

function decodeArg(codec: Codec, b: Buffer): unknown {
  switch (codec) {
    case 'str':
      return b.toString('utf8');
    case 'nstr':
      return b.length ? b.toString('utf8') : null;
    case 'num':
      return Number(b.readBigUInt64LE());
    case 'big':
      return b.readBigUInt64LE();
    case 'bool':
      return b.readBigUInt64LE() !== 0n;
    case 'list': {
      const s = b.toString('utf8');
      return s ? s.slice(0, -1).split('\0') : [];
    }
    case 'gids':
      return Array.from({ length: b.length / 4 }, (_, i) => b.readUInt32LE(i * 4));
    case 'bytes':
      return new Uint8Array(b);
    case 'ns':
      return NS_OF_FLAG.get(Number(b.readBigUInt64LE()));
    case 'nslist': {
      const flags = Number(b.readBigUInt64LE());
      return [...NS_OF_FLAG.entries()].filter(([bit]) => (flags & bit) === bit).map(([, ns]) => ns);
    }
  }
}

/** Decodes a wire plan back into operations (origins are not carried on the wire). */
export function decodePlan(buf: Buffer): Plan {
  if (buf.toString('ascii', 0, 4) !== PLAN_MAGIC || buf.readUInt32LE(4) !== PLAN_VERSION) throw new Error('not a berth plan');
  const count = buf.readUInt32LE(8);
  let off = 16;
  const plan: Plan = [];
  for (let i = 0; i < count; i++) {
    const code = buf.readUInt16LE(off);
    const argc = buf.readUInt16LE(off + 2);
    off += 4;
    const kind = KIND_OF.get(code);
    if (!kind) throw new Error(`unknown opcode ${code} at op ${i}`);
    const layout = PLAN_LAYOUT[kind];
    if (argc !== layout.length) throw new Error(`op ${i} (${kind}): ${argc} args, expected ${layout.length}`);
    const op: Record<string, unknown> = { kind };
    for (const [field, codec] of layout) {
      const len = buf.readUInt32LE(off);
      off += 4;
      op[field] = decodeArg(codec, buf.subarray(off, off + len));
      off += len;
    }
    if (kind === 'capset') op.phase = op.phase === 0 ? 'bounding' : 'sets';
    plan.push(op as unknown as PlanOp);
  }
  return plan;
}
