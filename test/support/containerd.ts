// Debian's containerd 1.6 with its CRI plugin, as the peer CRI implementation for interop tests and
// benchmarks: its own temporary root, state, gRPC socket, config.toml (version 2), runc through
// the runc v2 shim with the cgroupfs driver, its own CNI conf dir (a CniBridge), netns files and
// runc state under its state dir, the sandbox image pulled from a local registry through a
// hosts.toml mirror, and only the plugins the CRI needs. `stop()` removes every pod through the
// CRI, stops containerd, kills any shim or container left (by pid: the shims of this socket, the
// processes of its cgroup parent), unmounts what is left below its directory, and removes the
// CNI bridge, leases and the directory — also when the test failed half-way.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmountBelow } from '../../src/runtime/unmount-below.ts';
import { makeCgroupParent } from './cgroup-parent.ts';
import { makeCniBridge, type CniBridge } from './cni-bridge.ts';
import { CriClient } from './cri-client.ts';
import type { CriPeerFixture } from './cri-peer.ts';
import { allPids, cmdline, killPids } from './proc-scan.ts';
import type { CriRegistry } from './cri-registry.ts';

/** Plugins that cannot work here or that the CRI does not use: off, so that start-up is short. */
const DISABLED_PLUGINS = [
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.snapshotter.v1.native',
  'io.containerd.internal.v1.restart',
];
const RUNC = ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p)) ?? "runc";
/** containerd 1.6 puts its shims' sockets here whatever its state dir is. */
const SHIM_SOCKET_DIR = '/run/containerd/s';

export interface ContainerdCri extends CriPeerFixture {
  logFile: string;
  /** Pids of the runc v2 shims serving this containerd (its helpers). */
  shimPids(): number[];
}

export interface ContainerdOptions {
  images: CriRegistry;
  /** Short unique word for the bridge, network and cgroup parent names. */
  tag: string;
  env?: NodeJS.ProcessEnv;
  /** containerd's log level (default warn). */
  logLevel?: string;
}

function configToml(dir: string, socket: string, opts: ContainerdOptions, cni: CniBridge, hostsDir: string): string {
  const q = JSON.stringify;
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = ${q(join(dir, 'root'))}`,
    `state = ${q(join(dir, 'state'))}`,
    `disabled_plugins = ${q(DISABLED_PLUGINS)}`,
    '[grpc]',
    `  address = ${q(socket)}`,
    '[ttrpc]',
    `  address = ${q(`${socket}.ttrpc`)}`,
    '[debug]',
    '  address = ""',
    `  level = ${q(opts.logLevel ?? 'warn')}`,
    '[metrics]',
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(join(dir, 'opt'))}`,
    `[${cri}]`,
    `  sandbox_image = ${q(opts.images.sandboxImage)}`,
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_selinux = false',
    '  disable_apparmor = true',
    '  netns_mounts_under_state_dir = true',
    // Lowering oom_score_adj needs CAP_SYS_RESOURCE, which this machine's root lacks: containerd
    // then clamps the pods' (sandbox: -998) to its own.
    '  restrict_oom_score_adj = true',
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    '  SystemdCgroup = false',
    `  BinaryName = ${q(RUNC)}`,
    `  Root = ${q(join(dir, 'state', 'runc'))}`,
    `[${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = ${q(cni.confDir)}`,
    '  max_conf_num = 1',
    `[${cri}.registry]`,
    `  config_path = ${q(hostsDir)}`,
    '',
  ].join('\n');
}

/** Unix socket paths a process has open (from its fds' inodes and /proc/net/unix). */
function unixSocketPaths(pid: number): string[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    }
    return readFileSync(`/proc/${pid}/net/unix`, 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 8 && inodes.has(f[6]!))
      .map((f) => f[7]!.replace(/^@/, ''));
  } catch {
    return [];
  }
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startContainerdCri(opts: ContainerdOptions): Promise<ContainerdCri> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-containerd-'));
  const socket = join(dir, 'state', 'containerd.sock');
  const runDirExisted = existsSync('/run/containerd');
  const cni = makeCniBridge(dir, opts.tag);
  const cgroupParent = makeCgroupParent(`cd-${opts.tag}`);
  const hostsDir = opts.images.writeContainerdHosts(join(dir, 'certs.d'));
  const config = join(dir, 'config.toml');
  mkdirSync(join(dir, 'state'), { recursive: true });
  writeFileSync(config, configToml(dir, socket, opts, cni, hostsDir));
  const logFile = join(dir, 'containerd.log');
  const log = openSync(logFile, 'w');
  const child: ChildProcess = spawn('containerd', ['--config', config], { stdio: ['ignore', log, log], env: opts.env ?? process.env });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const client = new CriClient(socket);
  const shimPids = () => allPids().filter((pid) => {
    const argv = cmdline(pid);
    const at = argv.indexOf('-address');
    return at >= 0 && argv[at + 1] === socket;
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      try {
        const { items } = await client.call<{ items: Array<{ id: string }> }>('RuntimeService', 'ListPodSandbox', {}, 10_000);
        for (const { id } of items) {
          await client.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: id }, 30_000).catch(() => undefined);
          await client.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: id }, 30_000).catch(() => undefined);
        }
      } catch {
        // containerd does not answer: what it left is removed below
      }
    }
    client.close();
    const shims = shimPids();
    const shimSockets = shims.flatMap(unixSocketPaths).filter((p) => p.startsWith(`${SHIM_SOCKET_DIR}/`));
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    killPids(shims);
    await cgroupParent.cleanup();
    await unmountBelow(dir).catch(() => undefined);
    cni.cleanup();
    for (const s of shimSockets) rmSync(s, { force: true });
    if (!runDirExisted) {
      for (const d of [SHIM_SOCKET_DIR, '/run/containerd']) {
        try {
          rmdirSync(d);
        } catch {
          // not empty: someone else's
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const daemon: ContainerdCri = { pid: child.pid!, socket, dir, client, cni, cgroupParent, logFile, shimPids, helperPids: shimPids, stop };
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`containerd exited (${child.exitCode ?? child.signalCode}):\n${tail(logFile)}`);
      const ready = await client
        .call<{ status: { conditions: Array<{ type: string; status: boolean }> } }>('RuntimeService', 'Status', {}, 2000)
        .then((s) => s.status.conditions.every((c) => c.status))
        .catch(() => false);
      if (ready) return daemon;
      if (Date.now() > deadline) throw new Error(`containerd's CRI was not ready on ${socket} within 30 s:\n${tail(logFile)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
}
