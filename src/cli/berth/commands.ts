// The `berth` image commands as data: flags, arguments and one-line help. Behaviour lives in
// image-commands.ts.
import type { CommandSpec, FlagSpec } from './args.ts';
import { RUN_OPTION_FLAGS } from './run-options.ts';
import { UPDATE_COMMAND } from './update-command.ts';
import { VOLUME_COMMANDS } from './volume-commands.ts';
import { LIFECYCLE_COMMANDS } from './lifecycle-specs.ts';

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', kind: 'string', help: 'storage root (images, snapshots, metadata)', default: '/var/lib/berth' },
  { name: 'config', kind: 'string', help: 'config dir (auth.json, registries.conf, else /etc/containers/registries.conf); default ~/.config/berth' },
  { name: 'help', alias: 'h', kind: 'bool', help: 'show help' },
];

const quiet: FlagSpec = { name: 'quiet', alias: 'q', kind: 'bool', help: 'print only what is essential' };
const platform: FlagSpec = { name: 'platform', kind: 'string', help: 'os/arch[/variant] to pull (default: the host)' };

// What `run` and `exec` both set on the process they start.
const interactive: FlagSpec = { name: 'interactive', alias: 'i', kind: 'bool', help: "keep stdin open (without it the process's stdin is /dev/null)" };
const tty: FlagSpec = { name: 'tty', alias: 't', kind: 'bool', help: 'allocate a terminal, relayed to this one' };
const workdir: FlagSpec = { name: 'workdir', alias: 'w', kind: 'string', help: 'working directory inside the container' };
const envFile: FlagSpec = { name: 'env-file', kind: 'list', help: 'read environment variables from a file (KEY=VALUE lines, # comments)' };
const user = (from: string): FlagSpec => ({ name: 'user', alias: 'u', kind: 'string', help: `user[:group] (names or ids from the ${from})` });

const RUN_NETWORK_FLAGS: FlagSpec[] = [
  { name: 'network', kind: 'string', help: 'none, host, or a network (default: berth, made on first use; see berth network)' },
  { name: 'publish', alias: 'p', kind: 'list', help: "publish a port: [IP:][HOST:]CONTAINER[/tcp|udp], ranges as FROM-TO (no HOST: a free one)" },
  { name: 'publish-all', alias: 'P', kind: 'bool', help: "publish the image's EXPOSEd ports on free host ports" },
  { name: 'dns', kind: 'list', help: 'a nameserver for resolv.conf (replaces the host\'s)' },
  { name: 'dns-search', kind: 'list', help: "a search domain for resolv.conf (replaces the host's; '.' for none)" },
  { name: 'dns-option', kind: 'list', help: 'a resolver option for resolv.conf (ndots:2...)' },
  { name: 'add-host', kind: 'list', help: 'add NAME:IP to /etc/hosts' },
];

export const COMMANDS: CommandSpec[] = [
  {
    path: ['run'],
    summary: 'Run a command in a new container from an image (exits with its status)',
    flags: [
      { name: 'rm', kind: 'bool', help: 'remove the container when it exits' },
      { name: 'detach', alias: 'd', kind: 'bool', help: 'run in the background (output kept for `berth logs`); print the id' },
      { name: 'runtime', kind: 'string', help: "low-level runtime: berth (default), or runc, crun... (a name on $PATH or a path)" },
      { name: 'env', alias: 'e', kind: 'list', help: "set an environment variable (KEY=VALUE; KEY alone: this shell's value, or unset)" },
      envFile,
      workdir,
      user('image'),
      { name: 'name', kind: 'string', help: 'a name for the container' },
      { name: 'entrypoint', kind: 'string', help: "override the image's entrypoint" },
      { name: 'hostname', kind: 'string', help: 'container hostname (default: the short id)' },
      ...RUN_NETWORK_FLAGS,
      {
        name: 'security-opt',
        kind: 'list',
        help: "seccomp=unconfined, seccomp=PROFILE.json (docker's or the OCI format; default: berth's profile), no-new-privileges",
      },
      interactive,
      tty,
      { name: 'restart', kind: 'string', help: 'with -d: no (default), on-failure[:N], always or unless-stopped (a stop or kill is never undone)' },
      { name: 'log-opt', kind: 'list', help: 'with -d, log rotation: max-size=10m, max-file=3 (the defaults; docker json-file formats)' },
      {
        name: 'survive-monitor',
        kind: 'bool',
        help: 'with -d, let the container outlive its monitor (its init is then not traced by the monitor: strace/gdb may attach)',
      },
      ...RUN_OPTION_FLAGS,
    ],
    args: ['image', 'command...?'],
    stopAtFirstArg: true,
  },
  {
    path: ['ps'],
    summary: 'List containers',
    flags: [
      { name: 'all', alias: 'a', kind: 'bool', help: 'also stopped containers' },
      quiet,
      { name: 'format', kind: 'string', help: "table (default), json, or a Go template over docker's fields: {{.Names}}, 'table {{.ID}}\\t{{.Status}}'", default: 'table' },
    ],
    args: [],
  },
  {
    path: ['exec'],
    summary: 'Run a command in a running container (exits with its status)',
    flags: [
      { name: 'detach', alias: 'd', kind: 'bool', help: 'run it in the background, output discarded' },
      interactive,
      tty,
      { name: 'env', alias: 'e', kind: 'list', help: "set an environment variable (KEY=VALUE; KEY alone: this shell's value)" },
      envFile,
      workdir,
      user('container'),
    ],
    args: ['container', 'command...'],
    stopAtFirstArg: true,
  },
  {
    path: ['attach'],
    summary: "Attach to a background container's input and output (ctrl-p ctrl-q detaches from a terminal)",
    flags: [{ name: 'no-stdin', kind: 'bool', help: 'do not send our input' }],
    args: ['container'],
  },
  {
    path: ['logs'],
    summary: "Show a background container's output",
    flags: [
      { name: 'follow', alias: 'f', kind: 'bool', help: 'keep printing new output until the container exits' },
      { name: 'timestamps', alias: 't', kind: 'bool', help: 'show the time of each line' },
      { name: 'tail', alias: 'n', kind: 'string', help: 'only the last N lines ("all": every line, the default)' },
      { name: 'since', kind: 'string', help: 'only lines from this time on (2013-01-02T13:23:37Z, a Unix time, or 42m ago)' },
      { name: 'until', kind: 'string', help: 'only lines up to this time (same formats)' },
    ],
    args: ['container'],
  },
  {
    path: ['stop'],
    summary: 'Stop running containers (SIGTERM, then SIGKILL after a grace period)',
    flags: [{ name: 'time', alias: 't', kind: 'int', help: 'seconds to wait before SIGKILL (default 10)' }],
    args: ['container...'],
  },
  {
    path: ['rm'],
    summary: 'Remove containers',
    flags: [
      { name: 'force', alias: 'f', kind: 'bool', help: 'kill a running container first' },
      { name: 'volumes', alias: 'v', kind: 'bool', help: 'also remove the anonymous volumes made for it' },
    ],
    args: ['container...'],
  },
  {
    path: ['stats'],
    summary: 'Show live resource use of running containers (CPU, memory, network, block I/O, pids)',
    flags: [
      { name: 'no-stream', kind: 'bool', help: 'print one sample and exit' },
      { name: 'format', kind: 'string', help: 'table (default) or json (one object per line)', default: 'table' },
    ],
    args: ['container...?'],
  },
  { path: ['top'], summary: "Show a running container's processes (ps options: -e, -f, -o FIELDS, aux; default -ef)", flags: [], args: ['container', 'ps-options...?'], stopAtFirstArg: true },
  {
    path: ['port'],
    summary: "List a container's published ports, or the host address of one (PRIVATE[/PROTO])",
    flags: [],
    args: ['container', 'private?'],
  },
  {
    path: ['network', 'create'],
    summary: 'Create a bridge network (containers on it reach each other by name)',
    flags: [
      { name: 'subnet', kind: 'string', help: 'IPv4 subnet in CIDR form (default: a free /24 of 10.90.0.0/16)' },
      { name: 'gateway', kind: 'string', help: "the bridge's address (default: the subnet's first)" },
      { name: 'internal', kind: 'bool', help: 'no route out of the network, no masquerading' },
      { name: 'interface-name', kind: 'string', help: "the host bridge's name (default: the first free berthN)" },
    ],
    args: ['name'],
  },
  {
    path: ['network', 'ls'],
    summary: 'List networks',
    flags: [quiet, { name: 'format', kind: 'string', help: 'table (default) or json', default: 'table' }],
    args: [],
  },
  { path: ['network', 'inspect'], summary: 'Show networks as JSON (with their containers)', flags: [], args: ['network...'] },
  { path: ['network', 'rm'], summary: 'Remove networks no container uses (and their bridges)', flags: [], args: ['network...'] },
  {
    path: ['import'],
    summary: 'Create a one-layer image from a root filesystem tarball',
    flags: [{ name: 'change', alias: 'c', kind: 'list', help: 'CMD, ENV or WORKDIR instruction for the image config' }],
    args: ['tarball', 'image'],
  },
  {
    path: ['pull'],
    summary: 'Pull an image from a registry',
    flags: [platform, quiet, { name: 'max-concurrent-downloads', kind: 'int', help: 'layers downloaded (and unpacked) at once (default 3)' }],
    args: ['image'],
  },
  { path: ['push'], summary: 'Push an image to a registry (optionally under another name)', flags: [quiet], args: ['image', 'destination?'] },
  {
    path: ['images'],
    summary: 'List images',
    flags: [quiet, { name: 'format', kind: 'string', help: 'table (default) or json', default: 'table' }, { name: 'digests', kind: 'bool', help: 'show digests' }],
    args: [],
  },
  { path: ['rmi'], summary: 'Remove images (names, ids or digests)', flags: [{ name: 'force', alias: 'f', kind: 'bool', help: 'untag even if a container uses it' }], args: ['image...'] },
  { path: ['tag'], summary: 'Give an image another name', flags: [], args: ['source', 'target'] },
  {
    path: ['inspect'],
    summary: "Show containers (as docker's inspect) or images (record, manifest and config) as JSON",
    flags: [
      platform,
      { name: 'format', alias: 'f', kind: 'string', help: 'print each through a Go template: {{.State.Pid}}, {{json .Config}}' },
      { name: 'type', kind: 'string', help: 'container or image (default: a container by that name, else an image)' },
    ],
    args: ['name...'],
  },
  ...LIFECYCLE_COMMANDS,
  {
    path: ['login'],
    summary: 'Store credentials for a registry (checked against it first)',
    flags: [
      { name: 'username', alias: 'u', kind: 'string', help: 'user name' },
      { name: 'password', alias: 'p', kind: 'string', help: 'password (prefer --password-stdin)' },
      { name: 'password-stdin', kind: 'bool', help: 'read the password from standard input' },
    ],
    args: ['registry'],
  },
  { path: ['logout'], summary: 'Remove stored credentials for a registry', flags: [], args: ['registry'] },
  {
    path: ['save'],
    summary: 'Write images to an OCI layout tar (also loadable by docker load)',
    flags: [
      { name: 'output', alias: 'o', kind: 'string', help: 'output file (required)' },
      { name: 'directory', kind: 'bool', help: 'write an OCI layout directory instead of a tar' },
    ],
    args: ['image...'],
  },
  { path: ['load'], summary: 'Load images from an OCI layout (dir or tar) or docker save archive', flags: [{ name: 'input', alias: 'i', kind: 'string', help: 'archive file or layout directory (required)' }, quiet], args: [] },
  {
    path: ['image', 'prune'],
    summary: 'Remove unused content; with --all, every image no container uses',
    flags: [
      { name: 'all', alias: 'a', kind: 'bool', help: 'remove all unused images, not just unreferenced content' },
      { name: 'build-cache', kind: 'bool', help: "also drop berth build's step cache and RUN cache mounts" },
    ],
    args: [],
  },
  {
    path: ['build'],
    summary: 'Build an image from a Dockerfile and a context directory (or - for a tar on stdin)',
    flags: [
      { name: 'tag', alias: 't', kind: 'list', help: 'name the image (repeatable); the registry of each is where --push goes' },
      { name: 'file', alias: 'f', kind: 'string', help: 'the Dockerfile (default: CONTEXT/Dockerfile)' },
      { name: 'build-arg', kind: 'list', help: 'set a build argument (KEY=VALUE, or KEY to take it from the environment)' },
      { name: 'target', kind: 'string', help: 'build this stage (and what it needs) only' },
      { name: 'no-cache', kind: 'bool', help: 'run every step, ignoring the build cache' },
      { name: 'pull', kind: 'bool', help: 'pull base images even when they are stored' },
      { name: 'network', kind: 'string', help: 'network for RUN: none (default, a namespace of its own) or host' },
      { name: 'label', kind: 'list', help: 'add a label to the image (KEY=VALUE)' },
      { name: 'output', alias: 'o', kind: 'string', help: 'also write the image: type=oci,dest=PATH or type=docker,dest=PATH (a tar)' },
      { name: 'push', kind: 'bool', help: 'push every -t name to its registry' },
      { name: 'progress', kind: 'string', help: 'auto (plain), plain or quiet', default: 'auto' },
      quiet,
    ],
    args: ['context'],
  },
  ...VOLUME_COMMANDS,
  UPDATE_COMMAND,
];

export function findCommand(words: readonly string[]): { cmd: CommandSpec; used: number } | undefined {
  let best: { cmd: CommandSpec; used: number } | undefined;
  for (const cmd of COMMANDS) {
    if (cmd.path.every((w, i) => words[i] === w) && (!best || cmd.path.length > best.used)) best = { cmd, used: cmd.path.length };
  }
  return best;
}
