// The operations of a plan: what berth-spawn (native/) executes, in order. Opcode numbers are
// the wire contract with native/plan.h.

import type { NamespaceType } from '../oci/runtime-spec.ts';

export const OPCODES = {
  setns: 1,
  clone: 2,
  sync: 3,
  unshare: 4,
  'open-root': 5,
  mount: 6,
  mkdir: 7,
  mkfile: 8,
  symlink: 9,
  mknod: 10,
  'pivot-root': 11,
  'move-root': 12,
  sethostname: 13,
  setdomainname: 14,
  setrlimit: 15,
  setgroups: 16,
  setgid: 17,
  setuid: 18,
  umask: 19,
  'no-new-privs': 20,
  chdir: 21,
  'open-fifo': 22,
  'connect-console': 23,
  console: 24,
  'resolve-exec': 25,
  'wait-start': 26,
  hook: 27,
  execve: 28,
  setsid: 29,
  'write-file': 30,
  capset: 31,
  seccomp: 32,
  personality: 33,
  'mask-path': 34,
  'keep-caps': 35,
  'mount-setattr': 36,
  mkfifo: 37,
  'reopen-dev-null': 38,
  'close-fds': 39,
  chroot: 40,
  umount: 41,
} as const;

export type OpKind = keyof typeof OPCODES;

/** Where in the config an operation comes from, so a kernel failure names the field. */
interface Origin {
  origin?: string;
}

export type PlanOp = Origin &
  (
    | { kind: 'setns'; ns: NamespaceType; path: string }
    | { kind: 'clone'; namespaces: NamespaceType[]; wait: boolean }
    | { kind: 'sync'; point: string; last: boolean }
    | { kind: 'unshare'; namespaces: NamespaceType[] }
    | { kind: 'open-root'; path: string }
    | {
        kind: 'mount';
        source: string | null;
        target: string;
        fstype: string | null;
        flags: number;
        data: string | null;
        inRoot: boolean;
      }
    | { kind: 'mkdir'; path: string; mode: number }
    | { kind: 'mkfile'; path: string; mode: number }
    | { kind: 'symlink'; target: string; path: string }
    | { kind: 'mknod'; path: string; mode: number; major: number; minor: number; uid: number; gid: number }
    | { kind: 'pivot-root'; path: string }
    | { kind: 'move-root'; path: string }
    | { kind: 'sethostname'; name: string }
    | { kind: 'setdomainname'; name: string }
    | { kind: 'setrlimit'; resource: number; name: string; soft: bigint; hard: bigint }
    | { kind: 'setgroups'; gids: number[] }
    | { kind: 'setgid'; gid: number }
    | { kind: 'setuid'; uid: number }
    | { kind: 'umask'; mask: number }
    | { kind: 'no-new-privs' }
    | { kind: 'keep-caps' }
    | { kind: 'chdir'; path: string }
    | { kind: 'open-fifo'; path: string }
    | { kind: 'connect-console'; path: string }
    | { kind: 'console'; rows: number; cols: number; bindConsole: boolean }
    | { kind: 'resolve-exec'; file: string; searchPath: string }
    | { kind: 'wait-start' }
    | { kind: 'hook'; path: string; args: string[]; env: string[]; timeout: number }
    | { kind: 'execve'; args: string[]; env: string[] }
    /** Marks every fd from 3 + keep up close-on-exec (before seccomp: no syscall after the filter). */
    | { kind: 'close-fds'; keep: number }
    | { kind: 'chroot'; path: string }
    | { kind: 'umount'; path: string; flags: number }
    | { kind: 'setsid' }
    | { kind: 'write-file'; path: string; data: string; requireProcfs: boolean }
    | { kind: 'mask-path'; path: string; readonly: boolean }
    | {
        kind: 'capset';
        phase: 'bounding' | 'sets';
        bounding: bigint;
        effective: bigint;
        permitted: bigint;
        inheritable: bigint;
        ambient: bigint;
        lastCap: number;
      }
    | { kind: 'seccomp'; flags: number; program: Uint8Array }
    | { kind: 'personality'; persona: number }
    | { kind: 'mkfifo'; path: string; mode: number }
    | { kind: 'reopen-dev-null' }
    | { kind: 'mount-setattr'; path: string; set: bigint; clear: bigint; propagation: bigint; recursive: boolean }
  );

export type Plan = PlanOp[];

/** Narrow a PlanOp by kind (for callers that build ops generically). */
export type OpOf<K extends OpKind> = Extract<PlanOp, { kind: K }>;
