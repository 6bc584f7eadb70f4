// A podman confined to one temp dir: storage, run state, config, events, tmp and cgroup parent are
// all its own, so a test never reads or writes the host's /var/lib/containers, /etc/containers or
// /run/containers, and can take everything down again (see PodmanEnv.cleanup).

import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../support/cli.ts';

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

const CGROUP_ROOT = '/sys/fs/cgroup';

// Below this machine's hard limits: without CAP_SYS_RESOURCE no runtime can raise one.
export const ULIMITS = { nofile: 1024, nproc: 1024 };

function toml(s: string): string {
  return JSON.stringify(s);
}

export interface PodmanOptions {
  /**
   * OCI runtimes by name, for containers.conf's [engine.runtimes]. The first is podman's default.
   * All are listed in runtime_supports_json: podman then has conmon pass the runtime
   * `--log-format=json --log <file>` and reads the runtime's errors from that file, as it does for
   * runc. A runtime given as `--runtime <path>` is matched to that list by its base name.
   */
  runtimes: Record<string, string>;
}

/** A podman whose every path lives under `dir`. */
export class PodmanEnv {
  readonly dir: string;
  /** Every container is created under this cgroup parent (pass it as --cgroup-parent). */
  readonly cgroupParent: string;
  readonly env: NodeJS.ProcessEnv;
  readonly storageDriver: string;
  private readonly globals: string[];
  private readonly outDir: string;
  private readonly runtimes: Record<string, string>;
  private seq = 0;

  private constructor(dir: string, storageDriver: string, opts: PodmanOptions) {
    this.dir = dir;
    this.storageDriver = storageDriver;
    this.runtimes = opts.runtimes;
    this.cgroupParent = `/${dir.split('/').pop()}`;
    this.outDir = join(dir, 'out');
    const xdg = join(dir, 'xdg');
    this.env = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: join(dir, 'home'),
      TMPDIR: join(dir, 'tmp'),
      CONTAINERS_CONF: join(dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
      CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
      XDG_CONFIG_HOME: join(xdg, 'config'),
      XDG_DATA_HOME: join(xdg, 'data'),
      XDG_CACHE_HOME: join(xdg, 'cache'),
      XDG_RUNTIME_DIR: join(xdg, 'runtime'),
    };
    this.globals = [
      '--root', join(dir, 'storage'),
      '--runroot', join(dir, 'runroot'),
      '--storage-driver', storageDriver,
      '--tmpdir', join(dir, 'tmp'),
      '--cgroup-manager', 'cgroupfs',
      '--events-backend', 'file',
    ];
  }

  /** Makes the temp dir and its config files; overlay storage when the kernel and dir allow it, else vfs. */
  static create(opts: PodmanOptions): PodmanEnv {
    const dir = mkdtempSync('/tmp/berth-podman-');
    chmodSync(dir, 0o755);
    for (const d of ['home', 'tmp', 'out', 'networks', 'xdg/config', 'xdg/data', 'xdg/cache', 'xdg/runtime']) mkdirSync(join(dir, d), { recursive: true });
    chmodSync(join(dir, 'xdg/runtime'), 0o700);
    let env = new PodmanEnv(dir, 'overlay', opts);
    env.writeConfig();
    const probe = env.podman(['info', '--format', '{{.Store.GraphDriverName}}']);
    if (probe.code !== 0 || probe.stdout.trim() !== 'overlay') {
      rmSync(join(dir, 'storage'), { recursive: true, force: true });
      rmSync(join(dir, 'runroot'), { recursive: true, force: true });
      env = new PodmanEnv(dir, 'vfs', opts);
      env.writeConfig();
    }
    return env;
  }

  private writeConfig(): void {
    const d = this.dir;
    // conmon gets only these variables, and passes them on to the `podman container cleanup` it
    // runs when a container exits: without them that podman would read the host's config.
    const conmonEnv = Object.entries(this.env).map(([k, v]) => `${k}=${v}`);
    writeFileSync(
      join(d, 'containers.conf'),
      [
        '[containers]',
        `default_ulimits = [${toml(`nofile=${ULIMITS.nofile}:${ULIMITS.nofile}`)}, ${toml(`nproc=${ULIMITS.nproc}:${ULIMITS.nproc}`)}]`,
        'netns = "none"',
        'log_driver = "k8s-file"',
        '',
        '[engine]',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = ${toml(join(d, 'events.log'))}`,
        'no_pivot_root = false',
        `runtime = ${toml(Object.keys(this.runtimes)[0] ?? 'runc')}`,
        `runtime_supports_json = [${['crun', 'runc', ...Object.keys(this.runtimes)].map(toml).join(', ')}]`,
        `tmp_dir = ${toml(join(d, 'tmp'))}`,
        `static_dir = ${toml(join(d, 'storage/libpod'))}`,
        `volume_path = ${toml(join(d, 'storage/volumes'))}`,
        `conmon_env_vars = [${conmonEnv.map(toml).join(', ')}]`,
        'lock_type = "file"',
        'num_locks = 128',
        '',
        '[engine.runtimes]',
        ...Object.entries(this.runtimes).map(([name, path]) => `${toml(name)} = [${toml(path)}]`),
        '',
        // netavark keeps root's state in /run/containers/networks whatever the config says; CNI
        // keeps none until a network is set up, and every container here runs with --network none.
        '[network]',
        'network_backend = "cni"',
        `network_config_dir = ${toml(join(d, 'networks'))}`,
        '',
      ].join('\n'),
    );
    writeFileSync(join(d, 'storage.conf'), ['[storage]', `driver = ${toml(this.storageDriver)}`, `graphroot = ${toml(join(d, 'storage'))}`, `runroot = ${toml(join(d, 'runroot'))}`, ''].join('\n'));
    writeFileSync(join(d, 'registries.conf'), 'unqualified-search-registries = []\n');
  }

  /**
   * Runs podman with the isolating global flags before `args`. Output goes to files, not pipes:
   * conmon outlives podman and must not hold a pipe the caller waits on.
   */
  podman(args: string[], opts: { timeoutMs?: number; wrap?: string[] } = {}): RunResult {
    const n = this.seq++;
    const outFile = join(this.outDir, `${n}.out`);
    const errFile = join(this.outDir, `${n}.err`);
    const out = openSync(outFile, 'w');
    const err = openSync(errFile, 'w');
    try {
      const argv = [...(opts.wrap ?? []), findOnPath('podman') ?? 'podman', ...this.globals, ...args];
      const r = spawnSync(argv[0]!, argv.slice(1), { env: this.env, stdio: ['ignore', out, err], timeout: opts.timeoutMs ?? 30_000 });
      const stderr = readFileSync(errFile, 'utf8') + (r.error ? `\n${r.error.message}` : '') + (r.signal ? `\nkilled by ${r.signal}` : '');
      return { code: r.status ?? 255, stdout: readFileSync(outFile, 'utf8'), stderr };
    } finally {
      closeSync(out);
      closeSync(err);
      rmSync(outFile, { force: true });
      rmSync(errFile, { force: true });
    }
  }

  /**
   * `podman import` of a rootfs tarball. Copying an image writes containers/image's blob-info
   * cache, which for root is always /var/lib/containers/cache (no flag or config moves it), so the
   * import runs in a private mount namespace with a tmpfs over that directory (over /var/lib when
   * /var/lib/containers does not exist). The mount namespace, and the tmpfs, end with the command.
   */
  importImage(tarball: string, ref: string): RunResult {
    const cover = existsSync('/var/lib/containers') ? '/var/lib/containers' : '/var/lib';
    return this.podman(['import', tarball, ref], {
      wrap: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o mode=0700 berth-podman-test ${cover} && exec "$@"`, 'sh'],
    });
  }

  /** `podman pull` over plain HTTP (a local test registry), under the same cover as importImage. */
  pullImage(ref: string): RunResult {
    const cover = existsSync('/var/lib/containers') ? '/var/lib/containers' : '/var/lib';
    return this.podman(['pull', '--tls-verify=false', ref], {
      timeoutMs: 60_000,
      wrap: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o mode=0700 berth-podman-test ${cover} && exec "$@"`, 'sh'],
    });
  }

  /** Mount points at or under the temp dir, from this process's mountinfo. */
  mountsUnder(): string[] {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((mp): mp is string => !!mp && (mp === this.dir || mp.startsWith(`${this.dir}/`)));
  }

  /** The cgroup directories under this env's cgroup parent, in every hierarchy, deepest first. */
  cgroupDirs(): string[] {
    const found: string[] = [];
    const walk = (p: string): void => {
      let entries;
      try {
        entries = readdirSync(p, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(join(p, e.name));
      found.push(p);
    };
    for (const h of readdirSync(CGROUP_ROOT)) walk(join(CGROUP_ROOT, h, this.cgroupParent));
    return found;
  }

  /** Processes that belong to this env: in its cgroup parent, or with its dir on their command line (conmon). */
  processes(): number[] {
    const pids: number[] = [];
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      const pid = Number(p);
      if (pid === process.pid) continue;
      try {
        const cgroups = readFileSync(`/proc/${p}/cgroup`, 'utf8');
        const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        if (cgroups.includes(`:${this.cgroupParent}/`) || cmdline.includes(this.dir)) pids.push(pid);
      } catch {
        // exited meanwhile
      }
    }
    return pids;
  }

  /**
   * Takes everything down, as far as it can even after a failure, and returns what it had to
   * force: processes still alive after podman removed its containers, mounts podman left, and
   * cgroups other than the parent and conmon's own. Empty means podman and the runtime cleaned up.
   */
  cleanup(): string[] {
    const forced: string[] = [];
    const log = (what: string, r: RunResult): void => {
      if (r.code !== 0) forced.push(`${what} failed (${r.code}): ${r.stderr.trim()}`);
    };
    log('podman rm -af', this.podman(['rm', '--all', '--force', '--time', '0'], { timeoutMs: 20_000 }));
    log('podman rmi -af', this.podman(['rmi', '--all', '--force'], { timeoutMs: 20_000 }));
    log('podman system reset -f', this.podman(['system', 'reset', '--force'], { timeoutMs: 20_000 }));

    // The `podman container cleanup` that conmon runs as a container exits may still be finishing.
    for (let i = 0; i < 50 && this.processes().length > 0; i++) spawnSync('sleep', ['0.1']);
    for (const pid of this.processes()) {
      forced.push(`process ${pid} (${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}) still running`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // Deepest first, so unmount nested mounts before their parents.
    for (const mp of this.mountsUnder().reverse()) {
      forced.push(`mount ${mp} left behind`);
      spawnSync('umount', ['--lazy', mp]);
    }
    // conmon/ and the parent itself are podman's; a container's own cgroup is the runtime's to remove.
    const ours = new Set(['', '/conmon']);
    for (const cg of this.cgroupDirs()) {
      const rel = cg.slice(cg.indexOf(this.cgroupParent) + this.cgroupParent.length);
      if (!ours.has(rel)) forced.push(`cgroup ${cg} left behind`);
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(cg);
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
          spawnSync('sleep', ['0.1']); // a killed process leaves its cgroup a moment later
        }
      }
    }
    if (this.mountsUnder().length === 0) rmSync(this.dir, { recursive: true, force: true });
    return forced;
  }
}
