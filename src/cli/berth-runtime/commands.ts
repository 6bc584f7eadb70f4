// berth-runtime's command line as data: runc's commands and flags.

import type { CommandSpec, FlagSpec } from '../argv.ts';
import { UPDATE_FLAGS } from '../../runtime/update-resources.ts';

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', kind: 'string', default: '/run/berth-runtime', help: 'root directory for container state (should be on tmpfs)' },
  { name: 'log', kind: 'string', help: 'log file (default: stderr)' },
  { name: 'log-format', kind: 'string', default: 'text', help: "log format: 'text' or 'json'" },
  { name: 'debug', kind: 'bool', help: 'enable debug logging' },
  { name: 'systemd-cgroup', kind: 'bool', help: 'systemd cgroup driver (not supported by berth-runtime)' },
  { name: 'rootless', kind: 'string', help: "accepted for runc compatibility ('true', 'false' or 'auto')" },
  { name: 'criu', kind: 'string', help: 'accepted for runc compatibility; checkpoint/restore is not supported' },
  { name: 'help', alias: 'h', kind: 'bool', help: 'show help' },
  { name: 'version', alias: 'v', kind: 'bool', help: 'print the version' },
];

const CREATE_FLAGS: FlagSpec[] = [
  { name: 'bundle', alias: 'b', kind: 'string', default: '.', help: 'path to the bundle directory' },
  { name: 'console-socket', kind: 'string', help: 'unix socket that receives the pty master (terminal: true)' },
  { name: 'pid-file', kind: 'string', help: 'file to write the container init pid to' },
  { name: 'no-pivot', kind: 'bool', help: 'do not use pivot_root (for a rootfs on a ramdisk)' },
  { name: 'no-new-keyring', kind: 'bool', help: 'do not create a session keyring (berth never does)' },
  { name: 'preserve-fds', kind: 'int', default: 0, help: 'pass this many fds (from 3) to the container' },
];

export const COMMANDS: CommandSpec[] = [
  { name: 'create', summary: 'create a container (its process waits until `start`)', args: ['<container-id>'], flags: CREATE_FLAGS },
  { name: 'start', summary: 'start the process of a created container', args: ['<container-id>'], flags: [] },
  {
    name: 'run',
    summary: 'create and start a container; exits with its status',
    args: ['<container-id>'],
    flags: [
      ...CREATE_FLAGS,
      { name: 'detach', alias: 'd', kind: 'bool', help: 'do not wait for the container' },
      { name: 'keep', kind: 'bool', help: 'do not delete the container after it exits' },
    ],
  },
  { name: 'state', summary: 'print the state of a container as JSON', args: ['<container-id>'], flags: [] },
  {
    name: 'kill',
    summary: "send a signal (default SIGTERM) to the container's init",
    args: ['<container-id>', '[signal]'],
    flags: [{ name: 'all', alias: 'a', kind: 'bool', help: 'send the signal to every process of the container' }],
  },
  {
    name: 'delete',
    summary: 'delete a container and everything it holds',
    args: ['<container-id>'],
    flags: [{ name: 'force', alias: 'f', kind: 'bool', help: 'kill the container first if it is running' }],
  },
  {
    name: 'list',
    summary: 'list containers',
    args: [],
    flags: [
      { name: 'format', alias: 'f', kind: 'string', default: 'table', help: "'table' or 'json'" },
      { name: 'quiet', alias: 'q', kind: 'bool', help: 'print only container ids' },
    ],
  },
  {
    name: 'spec',
    summary: 'write a default config.json',
    args: [],
    flags: [
      { name: 'bundle', alias: 'b', kind: 'string', default: '.', help: 'directory to write config.json into' },
      { name: 'rootless', kind: 'bool', help: 'a config for a rootless container' },
    ],
  },
  {
    name: 'exec',
    summary: 'run another process inside a running container',
    args: ['<container-id>', '[command...]'],
    stopAfterPositionals: 1,
    flags: [
      { name: 'process', alias: 'p', kind: 'string', help: 'path to a process.json (instead of a command)' },
      { name: 'tty', alias: 't', kind: 'bool', help: 'allocate a pseudo-terminal' },
      { name: 'console-socket', kind: 'string', help: 'unix socket that receives the pty master' },
      { name: 'cwd', kind: 'string', help: 'working directory in the container' },
      { name: 'env', alias: 'e', kind: 'list', help: 'set an environment variable (NAME=value)' },
      { name: 'user', alias: 'u', kind: 'string', help: 'uid[:gid]' },
      { name: 'additional-gids', alias: 'g', kind: 'list', help: 'an additional group id' },
      { name: 'cap', alias: 'c', kind: 'list', help: 'add a capability' },
      { name: 'no-new-privs', kind: 'bool', help: 'set no_new_privs' },
      { name: 'detach', alias: 'd', kind: 'bool', help: 'do not wait for the process' },
      { name: 'pid-file', kind: 'string', help: 'file to write the process pid to' },
      { name: 'preserve-fds', kind: 'int', default: 0, help: 'pass this many fds (from 3) to the process' },
      { name: 'apparmor', kind: 'string', help: 'AppArmor profile (no LSM here: must be empty)' },
      { name: 'process-label', kind: 'string', help: 'SELinux label (no LSM here: must be empty)' },
      { name: 'ignore-paused', kind: 'bool', help: 'accepted for runc compatibility' },
    ],
  },
  { name: 'pause', summary: 'freeze every process of a container', args: ['<container-id>'], flags: [] },
  { name: 'resume', summary: 'thaw a paused container', args: ['<container-id>'], flags: [] },
  {
    name: 'ps',
    summary: 'list the processes of a container (ps arguments may follow, default -ef)',
    args: ['<container-id>', '[ps-args...]'],
    stopAfterPositionals: 1,
    flags: [{ name: 'format', alias: 'f', kind: 'string', default: 'table', help: "'table' or 'json' (pids)" }],
  },
  {
    name: 'update',
    summary: 'change the resource limits of a running container',
    args: ['<container-id>'],
    flags: [
      { name: 'resources', alias: 'r', kind: 'string', help: "path to a resources JSON file ('-' for stdin)" },
      ...UPDATE_FLAGS.map(({ name, help }): FlagSpec => ({ name, kind: 'string', help })),
    ],
  },
  {
    name: 'events',
    summary: 'print resource usage and OOM events as JSON lines',
    args: ['<container-id>'],
    flags: [
      { name: 'stats', kind: 'bool', help: 'print the statistics once and exit' },
      { name: 'interval', kind: 'string', default: '5s', help: 'time between statistics (e.g. 5s, 500ms)' },
    ],
  },
  { name: 'features', summary: 'print the features berth-runtime supports as JSON', args: [], flags: [] },
  {
    name: 'plan',
    summary: 'print the kernel operations that creating the container would perform',
    args: ['[container-id]'],
    flags: [
      { name: 'bundle', alias: 'b', kind: 'string', default: '.', help: 'path to the bundle directory' },
      { name: 'console-socket', kind: 'string', help: 'as for create' },
      { name: 'no-pivot', kind: 'bool', help: 'as for create' },
      { name: 'format', alias: 'f', kind: 'string', default: 'text', help: "'text' or 'json'" },
    ],
  },
];
