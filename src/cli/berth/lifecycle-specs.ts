// The specs of the commands in lifecycle-commands.ts (data, as commands.ts).
import type { CommandSpec } from './args.ts';

export const LIFECYCLE_COMMANDS: CommandSpec[] = [
  {
    path: ['kill'],
    summary: 'Send a signal to running containers (default SIGKILL)',
    flags: [{ name: 'signal', alias: 's', kind: 'string', help: 'the signal: a name (KILL, SIGHUP) or a number' }],
    args: ['container...'],
  },
  { path: ['start'], summary: 'Start containers that were created, or ran with -d and ended (again, with their restart policy)', flags: [], args: ['container...'] },
  {
    path: ['restart'],
    summary: 'Stop running containers, then start them again',
    flags: [{ name: 'time', alias: 't', kind: 'int', help: 'seconds to wait before SIGKILL (default 10)' }],
    args: ['container...'],
  },
  { path: ['wait'], summary: 'Wait until containers stop; print their exit codes', flags: [], args: ['container...'] },
  { path: ['pause'], summary: "Freeze every process of running containers (the cgroup's freezer)", flags: [], args: ['container...'] },
  { path: ['unpause'], summary: 'Thaw paused containers', flags: [], args: ['container...'] },
  { path: ['rename'], summary: 'Rename a container', flags: [], args: ['container', 'new-name'] },
  {
    path: ['cp'],
    summary: 'Copy files between a container and the host: CONTAINER:SRC DEST or SRC CONTAINER:DEST (- for a tar stream)',
    flags: [],
    args: ['source', 'destination'],
  },
  { path: ['on-exit'], summary: "A container's monitor runs this once it ended: its restart policy", flags: [], args: ['id'], hidden: true },
];
