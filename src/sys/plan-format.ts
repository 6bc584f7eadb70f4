// Human-readable, deterministic rendering of a plan, one operation per line (`berth-runtime plan`).

import { MS, flagNames } from './kernel-constants.ts';
import type { Plan, PlanOp } from './plan-ops.ts';

const octal = (n: number): string => `0${n.toString(8)}`;
const quote = (s: string): string => JSON.stringify(s);
const list = (xs: string[]): string => `[${xs.map(quote).join(' ')}]`;
const hex = (n: bigint): string => `0x${n.toString(16)}`;

function describe(op: PlanOp): string {
  switch (op.kind) {
    case 'setns':
      return `${op.ns} ${op.path}`;
    case 'clone':
      return `new=[${op.namespaces.join(',')}]${op.wait ? ' wait' : ''}`;
    case 'unshare':
      return `new=[${op.namespaces.join(',')}]`;
    case 'sync':
      return `${op.point}${op.last ? ' (last)' : ''}`;
    case 'open-root':
    case 'pivot-root':
    case 'move-root':
    case 'chdir':
    case 'open-fifo':
    case 'connect-console':
      return op.path;
    case 'mask-path':
      return `root:${op.path}${op.readonly ? ' read-only' : ' masked'}`;
    case 'mount':
      return [
        op.source ?? 'none',
        `on ${op.inRoot ? 'root:' : ''}${op.target}`,
        `type ${op.fstype ?? 'none'}`,
        `flags ${flagNames(op.flags, MS, 'MS_')}`,
        op.data ? `data ${quote(op.data)}` : '',
      ]
        .filter(Boolean)
        .join(' ');
    case 'mkdir':
    case 'mkfile':
      return `root:${op.path} mode ${octal(op.mode)}`;
    case 'mkfifo':
      return `${op.path} mode ${octal(op.mode)}`;
    case 'symlink':
      return `root:${op.path} -> ${op.target}`;
    case 'mknod':
      return `root:${op.path} mode ${octal(op.mode)} dev ${op.major}:${op.minor} owner ${op.uid}:${op.gid}`;
    case 'sethostname':
    case 'setdomainname':
      return quote(op.name);
    case 'setrlimit':
      return `${op.name} soft ${op.soft} hard ${op.hard}`;
    case 'setgroups':
      return `[${op.gids.join(',')}]`;
    case 'setgid':
      return String(op.gid);
    case 'setuid':
      return String(op.uid);
    case 'umask':
      return octal(op.mask);
    case 'console':
      return `${op.rows}x${op.cols}${op.bindConsole ? ' bind /dev/console' : ''}`;
    case 'resolve-exec':
      return `${quote(op.file)} PATH=${op.searchPath}`;
    case 'hook':
      return `${op.path} ${list(op.args)} env ${list(op.env)} timeout ${op.timeout}s`;
    case 'execve':
      return `${list(op.args)} env ${list(op.env)}`;
    case 'close-fds':
      return `from ${3 + op.keep}`;
    case 'chroot':
      return op.path;
    case 'umount':
      return `${op.path} flags ${op.flags}`;
    case 'write-file':
      return `root:${op.path} ${quote(op.data)}${op.requireProcfs ? ' (procfs)' : ''}`;
    case 'capset':
      return op.phase === 'bounding'
        ? `bounding ${hex(op.bounding)}`
        : `effective ${hex(op.effective)} permitted ${hex(op.permitted)} inheritable ${hex(op.inheritable)} ambient ${hex(op.ambient)}`;
    case 'seccomp':
      return `${op.program.length / 8} instructions flags ${op.flags}`;
    case 'personality':
      return `0x${op.persona.toString(16)}`;
    case 'mount-setattr':
      return `root:${op.path} set ${hex(op.set)} clear ${hex(op.clear)} propagation ${hex(op.propagation)}${op.recursive ? ' recursive' : ''}`;
    case 'no-new-privs':
    case 'keep-caps':
    case 'wait-start':
    case 'setsid':
    case 'reopen-dev-null':
      return '';
  }
}

export function formatPlan(plan: Plan): string {
  const width = String(plan.length - 1).length;
  return plan
    .map((op, i) => {
      const line = `${String(i).padStart(width)}  ${op.kind.padEnd(15)} ${describe(op)}`.trimEnd();
      return op.origin ? `${line}    # ${op.origin}` : line;
    })
    .join('\n');
}
