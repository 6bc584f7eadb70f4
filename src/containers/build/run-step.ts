// RUN: the command runs in a container of berth's own runtime, in this process, on the step's
// mounted overlay (its writes land in the snapshot's upper directory, which becomes the layer).
// The container is `berth run`'s (docker's default capabilities, berth's seccomp profile) with
// network `none` (a network namespace of its own) unless the build runs with `--network host`.
// RUN mounts: cache (a persistent directory of the store, bind-mounted), bind (from the context
// or a stage, read-only unless rw: then a private copy whose writes are dropped), tmpfs; secret
// and ssh are refused. Mount points the runtime had to create are removed again afterwards with
// their parent's times restored (BuildKit's stub cleaner), so they do not become part of the layer.
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, rmdirSync, unlinkSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { BerthError, invalid, unimplemented } from '../../oci/errors.ts';
import type { Mount, Spec } from '../../oci/runtime-spec.ts';
import type { PlannedMount, RunStep } from '../../image/build/plan-types.ts';
import { refusedMount } from '../../image/build/run-mount.ts';
import { imageConfigToSpec } from '../../image/runtime-config.ts';
import { resolveImageUser } from '../../image/image-user.ts';
import { LayeredRootfs } from '../../image/rootfs-view.ts';
import { PRIVATE_FILE_MODE } from '../../image/store-permissions.ts';
import type { Runtime } from '../../runtime/container.ts';
import { imageContainerBaseSpec } from '../../runtime/default-spec.ts';
import { defaultSeccompProfile } from '../../runtime/seccomp/default-profile.ts';
import { hostPath, resolveInRoot, statInRoot } from './rootfs-path.ts';

export interface RunMountSource {
  /** A host directory (or file) to bind at the mount's target, and how to let go of it. */
  path: string;
  release: () => Promise<void>;
}

export interface RunEnv {
  runtime: Runtime;
  /** The step's mounted root filesystem. */
  rootfs: string;
  /** A private directory for the bundle and the output log (removed by the caller). */
  scratch: string;
  /** The build's network: `none` (default) or `host`. */
  network: 'none' | 'host';
  /** The directory of a cache mount, created on first use; `release` ends this RUN's use of it. */
  cacheDir: (m: PlannedMount) => Promise<RunMountSource>;
  /** The host path a bind mount's source is taken from (context or stage), resolved safely. */
  bindSource: (m: PlannedMount) => Promise<RunMountSource>;
  /** Output as it arrives, a line at a time. */
  onOutput: (line: string) => void;
  signal?: AbortSignal;
}

export class RunFailedError extends BerthError {
  constructor(
    readonly command: string[],
    readonly exitCode: number,
    readonly lastLines: string[],
  ) {
    super('failed-precondition', `process "${command.join(' ')}" did not complete successfully: exit code: ${exitCode}`);
  }
}

const LAST_LINES = 10;

/** Host files a host-network RUN sees, as BuildKit gives them (when the image has the file). */
const HOST_NETWORK_FILES = ['/etc/resolv.conf', '/etc/hosts'];

interface Stub {
  /** Components of the first mount-point component that did not exist. */
  created: string[];
  /** Its parent and the parent's times before the run. */
  parentTimes?: { atime: Date; mtime: Date };
}

/** The mount points a run will create, so they can be taken out of the layer afterwards. */
function findStubs(rootfs: string, targets: readonly string[]): Stub[] {
  const out: Stub[] = [];
  const seen = new Set<string>();
  for (const t of targets) {
    const parts = resolveInRoot(rootfs, t);
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i);
      if (statInRoot(rootfs, prefix)) continue;
      const key = prefix.join('/');
      if (!seen.has(key)) {
        seen.add(key);
        const parent = statInRoot(rootfs, prefix.slice(0, -1));
        out.push({ created: prefix, ...(parent ? { parentTimes: { atime: parent.atime, mtime: parent.mtime } } : {}) });
      }
      break;
    }
  }
  return out;
}

/** Removes a stub the run left empty (directories bottom-up, an empty file), restoring its parent's times. */
function removeStub(rootfs: string, stub: Stub): void {
  const path = hostPath(rootfs, stub.created);
  const st = statInRoot(rootfs, stub.created);
  if (!st) return;
  const emptyTree = (p: string, s: Stats): boolean => {
    if (s.isFile()) return s.size === 0;
    if (!s.isDirectory()) return false;
    return removeEmptyDirs(p);
  };
  if (!emptyTree(path, st)) return;
  try {
    if (st.isFile()) unlinkSync(path);
    if (stub.parentTimes) utimesSync(hostPath(rootfs, stub.created.slice(0, -1)), stub.parentTimes.atime, stub.parentTimes.mtime);
  } catch {
    // Left in place: it shows up in the layer, which is harmless.
  }
}

/** Removes `dir` if it holds nothing but empty directories; whether it is gone. */
function removeEmptyDirs(dir: string): boolean {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  for (const n of names) {
    const p = join(dir, n);
    const st = lstatSync(p);
    if (!st.isDirectory() || !removeEmptyDirs(p)) return false;
  }
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** The container spec of a RUN: berth run's defaults, the step's process, its mounts. */
export function runSpec(run: RunStep, opts: { rootfs: string; hostname: string; hostNetwork: boolean; mounts: Mount[]; user: Awaited<ReturnType<typeof resolveImageUser>> }): Spec {
  const base = imageContainerBaseSpec();
  const spec = imageConfigToSpec(
    { architecture: '', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: [...run.env, ...run.proxyEnv], Cmd: run.argv, WorkingDir: run.workdir, ...(run.user ? { User: run.user } : {}) } },
    { hostname: opts.hostname },
    { base, resolvedUser: opts.user },
  );
  spec.root = { path: opts.rootfs, readonly: false };
  spec.mounts = [...(spec.mounts ?? []), ...opts.mounts];
  const linux = (spec.linux ??= {});
  if (opts.hostNetwork) linux.namespaces = (linux.namespaces ?? []).filter((n) => n.type !== 'network');
  linux.seccomp = defaultSeccompProfile({ nodeArch: process.arch, kernelRelease: release(), capabilities: spec.process?.capabilities?.bounding ?? [] });
  return spec;
}

export async function executeRun(run: RunStep, env: RunEnv): Promise<void> {
  if (run.security === 'insecure') throw unimplemented('RUN --security=insecure is not allowed by berth build (it would run the step with every privilege)', { field: '--security' });
  const hostNetwork = run.network === 'host' || (run.network === 'default' && env.network === 'host');
  if (run.network === 'host' && env.network !== 'host') throw invalid('RUN --network=host needs the build to allow it: berth build --network host', { field: '--network' });
  for (const m of run.mounts) {
    const refused = refusedMount(m);
    if (refused) throw unimplemented(`RUN --mount=type=${m.type}: ${refused}`, { field: '--mount' });
  }
  const mounts: Mount[] = [];
  const held: RunMountSource[] = [];
  const targets = ['/proc', '/dev', '/sys'];
  try {
    for (const m of run.mounts) {
      targets.push(m.target);
      if (m.type === 'tmpfs') {
        mounts.push({ destination: m.target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(m.size !== undefined ? [`size=${m.size}`] : [])] });
        continue;
      }
      const src = m.type === 'cache' ? await env.cacheDir(m) : await env.bindSource(m);
      held.push(src);
      mounts.push({ destination: m.target, type: 'bind', source: src.path, options: ['rbind', m.readOnly ? 'ro' : 'rw'] });
    }
    if (hostNetwork) {
      for (const f of HOST_NETWORK_FILES) {
        if (statInRoot(env.rootfs, resolveInRoot(env.rootfs, f))?.isFile()) mounts.push({ destination: f, type: 'bind', source: f, options: ['rbind', 'ro'] });
      }
    }
    const user = await resolveImageUser(new LayeredRootfs([env.rootfs]), run.user);
    const stubs = findStubs(env.rootfs, targets);
    const id = `berth-build-${randomUUID()}`;
    const bundle = join(env.scratch, `run-${id}`);
    mkdirSync(bundle, { mode: 0o700 });
    if (run.script) {
      // A heredoc with a #! line runs as a program: a read-only file at its /dev/pipes path.
      const file = join(bundle, 'script');
      writeFileSync(file, run.script.content, { mode: 0o755 });
      mounts.push({ destination: run.script.path, type: 'bind', source: file, options: ['rbind', 'ro'] });
    }
    const spec = runSpec(run, { rootfs: env.rootfs, hostname: 'buildkitsandbox', hostNetwork, mounts, user });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec), { mode: PRIVATE_FILE_MODE });
    const logPath = join(bundle, 'output.log');
    const fd = openSync(logPath, 'w+', 0o600);
    const tail = new OutputTail(fd, env.onOutput);
    const timer = setInterval(() => tail.poll(), 100);
    const onAbort = (): void => void env.runtime.kill(id, 'SIGKILL').catch(() => undefined);
    env.signal?.addEventListener('abort', onAbort, { once: true });
    let code: number;
    try {
      code = await env.runtime.run({ id, bundle, stdin: 'none', output: fd, ...(env.signal ? { signal: env.signal } : {}) });
    } finally {
      env.signal?.removeEventListener('abort', onAbort);
      clearInterval(timer);
      tail.poll();
      tail.flush();
      closeSync(fd);
      for (const s of stubs.reverse()) removeStub(env.rootfs, s);
    }
    if (code !== 0) throw new RunFailedError(run.argv, code, tail.last);
  } finally {
    for (const h of held) await h.release().catch(() => undefined);
  }
}

/** Reads what the container wrote to its log file so far, line by line, keeping the last lines. */
class OutputTail {
  private offset = 0;
  private partial = '';
  readonly last: string[] = [];
  private readonly buf = Buffer.allocUnsafe(64 * 1024);

  constructor(
    private readonly fd: number,
    private readonly onLine: (line: string) => void,
  ) {}

  poll(): void {
    for (;;) {
      let n: number;
      try {
        if (fstatSync(this.fd).size <= this.offset) return;
        n = readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      } catch {
        return;
      }
      if (n === 0) return;
      this.offset += n;
      const text = this.partial + this.buf.toString('utf8', 0, n);
      const lines = text.split('\n');
      this.partial = lines.pop()!;
      for (const l of lines) this.line(l);
    }
  }

  flush(): void {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
  }

  private line(l: string): void {
    const clean = l.replace(/\r$/, '');
    this.last.push(clean);
    if (this.last.length > LAST_LINES) this.last.shift();
    this.onLine(clean);
  }
}
