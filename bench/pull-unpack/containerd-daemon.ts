// A private containerd for one benchmark round: its own root, state dir and socket under `dir`,
// the CRI plugin and the snapshotters that cannot work here disabled. Stopped by its pid only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ContainerdDaemon {
  pid: number;
  socket: string;
  /** containerd's --root: content store, metadata and the overlayfs snapshots. */
  root: string;
  /** Where the overlayfs snapshotter keeps its layers (`snapshots/<n>/fs`). */
  snapshotsDir: string;
  stop(): Promise<void>;
}

const DISABLED_PLUGINS = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
];

export async function startContainerd(dir: string, env: NodeJS.ProcessEnv): Promise<ContainerdDaemon> {
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  const socket = join(state, 'containerd.sock');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(root)}`,
      `state = ${JSON.stringify(state)}`,
      `disabled_plugins = ${JSON.stringify(DISABLED_PLUGINS)}`,
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      // The default is /opt/containerd on the host.
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${JSON.stringify(join(dir, 'opt'))}`,
      '',
    ].join('\n'),
  );
  const logPath = join(dir, 'containerd.log');
  const log = openSync(logPath, 'w');
  const child: ChildProcess = spawn('containerd', ['--config', config], { stdio: ['ignore', log, log], env });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const daemon: ContainerdDaemon = {
    pid: child.pid!,
    socket,
    root,
    snapshotsDir: join(root, 'io.containerd.snapshotter.v1.overlayfs', 'snapshots'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`containerd exited with status ${child.exitCode}:\n${tail(logPath)}`);
    if (spawnSync('ctr', ['-a', socket, 'version'], { stdio: 'ignore', env }).status === 0) return daemon;
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new Error(`containerd did not answer on ${socket} within 15 s:\n${tail(logPath)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}
