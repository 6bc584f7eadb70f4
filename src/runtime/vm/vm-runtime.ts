// berth-vm's container lifecycle: runc's contract on the host, the container in its own VM.
// create boots the VM under a monitor (native/vm-monitor.c, the container's pid for callers),
// compiles the plan for the guest and has the guest agent run it with berth-spawn up to the
// exec fifo; start writes the fifo through the agent. See docs/berth-vm.md.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { connect, type Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { BerthError, fromSystemError, invalid, precondition, unimplemented } from '../../oci/errors.ts';
import { OCI_VERSION, type ContainerStatus, type Process, type State } from '../../oci/runtime-spec.ts';
import { parseMessage, spawnBinary, spawnError } from '../../sys/berth-spawn.ts';
import { startConsoleRelay, type ConsoleRelay } from '../../sys/console-relay.ts';
import { encodePlan } from '../../sys/plan-wire.ts';
import type { Plan } from '../../sys/plan-ops.ts';
import { processAlive, readProcStat } from '../../sys/proc.ts';
import { cgroupManagerFromJSON, openCgroupManager, type CgroupManager } from '../cgroups/index.ts';
import { loadBundle, type CreateOptions, type ExecOptions, type StateOutput } from '../container.ts';
import { compileExecPlan } from '../exec-plan.ts';
import { runHook } from '../hooks.ts';
import { gatherHostFacts } from '../host-facts.ts';
import { formatIdMap } from '../id-mappings.ts';
import { compilePlan, SYNC } from '../plan-compiler.ts';
import { resolveSignal } from '../signals.ts';
import { StateStore, validateId, type ContainerRecord } from '../state-store.ts';
import { readVmConfig, resolveAccel } from './accel.ts';
import { assetsDir, loadAssets } from './assets.ts';
import { encodeConfig, F, FrameChannel, u32, type Frame } from './frames.ts';
import { encodeGuestNet, guestNamespaces, netnsPath, tapName, type GuestNet, type NetPlumbing } from './guest-net.ts';
import { GUEST_FIFO, GUEST_ROOTFS, guestConsoleSocket, guestHostFacts, guestLayout, shareConfigValue } from './guest-spec.ts';
import { plugTap, readGuestNetwork, unplugTap, utsHostname } from './netns.ts';
import { qemuArgs, virtiofsdArgs } from './qemu-args.ts';
import { vmSizing } from './sizing.ts';

/** Under TCG a boot takes seconds, on a busy machine many. */
export const BOOT_TIMEOUT_MS = 120_000;

export interface VmState {
  /** The container's init in the guest's pid namespace of the agent. */
  guestPid: number;
  started: boolean;
  accel: string;
  memoryMiB: number;
  cpus: number;
  kernelRelease: string;
  /** The tap and redirections made in the pod's netns (delete removes them). */
  net?: NetPlumbing;
}

export interface VmRecord extends ContainerRecord {
  vm: VmState;
}

export interface VmRuntimeOptions {
  root: string;
  warn?: (message: string) => void;
}

export class VmRuntime {
  readonly store: StateStore;
  private readonly warn: (message: string) => void;

  constructor(readonly options: VmRuntimeOptions) {
    this.store = new StateStore(options.root);
    this.warn = options.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`));
  }

  private read(id: string): VmRecord {
    const r = this.store.read(id) as VmRecord;
    if (!r.vm) throw invalid(`container "${id}" was not created by berth-vm`, { path: this.store.dir(id) });
    return r;
  }

  private ctlPath(id: string): string {
    return join(this.store.dir(id), 'ctl.sock');
  }

  status(record: ContainerRecord): ContainerStatus {
    const r = record as VmRecord;
    const alive = processAlive(r.pid, r.pidStartTime || undefined);
    if (r.creating) return alive || !r.pid ? 'creating' : 'stopped';
    if (!alive) return 'stopped';
    if (r.paused) return 'paused';
    return r.vm?.started ? 'running' : 'created';
  }

  ociState(record: ContainerRecord, status = this.status(record)): State {
    const state: State = { ociVersion: OCI_VERSION, id: record.id, status, bundle: record.bundle };
    if (status !== 'stopped' && record.pid) state.pid = record.pid;
    if (record.config.annotations && Object.keys(record.config.annotations).length) state.annotations = record.config.annotations;
    return state;
  }

  state(id: string): StateOutput {
    const record = this.read(id);
    const status = this.status(record);
    return { ...this.ociState(record, status), pid: status === 'stopped' ? 0 : record.pid, rootfs: record.rootfs, created: record.created, owner: record.owner };
  }

  list(): StateOutput[] {
    const out: StateOutput[] = [];
    for (const id of this.store.list()) {
      try {
        out.push(this.state(id));
      } catch {
        // a create in progress
      }
    }
    return out;
  }

  cgroups(record: ContainerRecord): CgroupManager {
    return cgroupManagerFromJSON(record.cgroup);
  }

  /** The plan the guest runs for the container's init (`plan`). */
  plan(options: CreateOptions): Plan {
    return this.compile(options).plan;
  }

  private compile(options: CreateOptions) {
    if (options.preserveFds) throw unimplemented('--preserve-fds: host fds can not cross into the VM', { field: '--preserve-fds' });
    const { spec, rootfs, bundle } = loadBundle(options.bundle);
    const host = gatherHostFacts(spec, bundle, rootfs);
    const layout = guestLayout(guestNamespaces(spec, utsHostname), bundle, rootfs, host.sources);
    const terminal = !!spec.process?.terminal;
    const plan = compilePlan({
      spec: layout.spec,
      bundle,
      rootfs: GUEST_ROOTFS,
      fifoPath: GUEST_FIFO,
      consoleSocket: terminal && options.consoleSocket ? guestConsoleSocket(0) : undefined,
      noPivot: options.noPivot,
      host: guestHostFacts(layout.sources, host.home),
    });
    return { spec, rootfs, bundle, layout, plan, terminal };
  }

  /**
   * Boots the VM and runs the plan up to the exec fifo. With `keep`, the monitor stays this
   * process's child (a foreground `run` waits for it). A failure leaves nothing behind.
   */
  async create(options: CreateOptions, keep = false): Promise<{ record: VmRecord; monitor: ChildProcess }> {
    validateId(options.id);
    const { spec, rootfs, bundle, layout, plan, terminal } = this.compile(options);
    const assets = loadAssets();
    const { accel } = await resolveAccel(readVmConfig().accel, assets, assetsDir());
    const sizing = vmSizing(spec.linux?.resources, cpus().length);
    const cgroups = await openCgroupManager({ id: options.id, cgroupsPath: spec.linux?.cgroupsPath });
    const dir = this.store.claim(options.id);
    const record: VmRecord = {
      id: options.id, bundle, rootfs, pid: 0, pidStartTime: 0, created: new Date().toISOString(), creating: true, owner: '', config: spec,
      cgroup: cgroups.toJSON(),
      vm: { guestPid: 0, started: false, accel, memoryMiB: sizing.memoryMiB, cpus: sizing.cpus, kernelRelease: assets.release },
    };
    let monitor: ChildProcess | undefined;
    let channel: FrameChannel | undefined;
    const onAbort = (): void => {
      monitor?.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.store.write(record);
      await cgroups.create();
      record.cgroup = cgroups.toJSON();
      for (const w of await cgroups.set(sizing.hostResources)) this.warn(w);
      const shareDir = join(dir, 'share');
      mkdirSync(shareDir, { mode: 0o700 });
      const consoleSocket = terminal ? options.consoleSocket : undefined;
      if (terminal && !consoleSocket) throw invalid('process.terminal is true: --console-socket is required (or set terminal to false)', { field: 'process.terminal' });
      const netns = netnsPath(spec);
      let net: GuestNet | undefined;
      if (netns) net = readGuestNetwork(netns);
      if (netns && net) {
        const plumbing: NetPlumbing = { netns, iface: net.iface, tap: tapName(options.id) };
        plugTap(plumbing, net.mtu);
        record.vm.net = plumbing;
        this.store.write(record);
      }
      const config: Array<[string, string]> = [
        ...qemuArgs({ name: options.id, accel, memoryMiB: sizing.memoryMiB, cpus: sizing.cpus, kernel: assets.kernel, initrd: assets.initrd, share: true, control: true, ...(net ? { net: { mac: net.mac } } : {}) }).map((a): [string, string] => ['qemu', a]),
        ...virtiofsdArgs(shareDir).map((a): [string, string] => ['virtiofsd', a]),
        ['share-dir', shareDir],
        ...layout.shares.map((s): [string, string] => ['share', shareConfigValue(s)]),
        ['vfs-socket', join(dir, 'vfs.sock')],
        ['hide', this.store.root],
        ['ctl', this.ctlPath(options.id)],
        ['log', join(dir, 'vm.log')],
        ...(record.vm.net ? [['netns', record.vm.net.netns], ['tap', record.vm.net.tap]] as Array<[string, string]> : []),
        ...(consoleSocket ? [['console', resolve(consoleSocket)] as [string, string]] : []),
      ];
      monitor = spawn(spawnBinary(), ['--vm-monitor', '3'], {
        stdio: [options.stdin === 'none' ? 'ignore' : 'inherit', 'inherit', 'inherit', 'pipe'],
        detached: true,
      });
      if (!monitor.pid) throw new BerthError('internal', 'berth-vm: the VM monitor did not start', { op: 'create' });
      record.pid = monitor.pid;
      record.pidStartTime = readProcStat(monitor.pid)?.startTime ?? 0;
      this.store.write(record);
      // Into the container's cgroup before it starts anything: QEMU and virtiofsd inherit it.
      await cgroups.apply(monitor.pid);
      channel = new FrameChannel(monitor.stdio[3] as Socket);
      channel.send(F.CONFIG, 0, encodeConfig(config));
      if (options.signal?.aborted) onAbort();
      await this.boot(channel, record, join(dir, 'vm.log'));
      if (net) await configureGuestNet(channel, net);
      channel.send(F.PLAN, 0, Buffer.concat([Buffer.from(consoleSocket ? `${guestConsoleSocket(0)}\0` : '\0'), encodePlan(plan)]));
      await this.driveSetup(channel, plan, record, spec, join(dir, 'vm.log'));
      if (options.signal?.aborted) throw new BerthError('internal', 'create was interrupted: the container was removed', { op: 'create' });
      if (options.pidFile) writePidFile(options.pidFile, record.pid);
      record.creating = false;
      this.store.write(record);
      channel.send(F.DONE);
      await new Promise<void>((res) => channel!.socket.end(res));
      if (!keep) monitor.unref();
      return { record, monitor };
    } catch (err) {
      channel?.socket.destroy();
      monitor?.kill('SIGKILL');
      await waitGone(record.pid, record.pidStartTime || undefined).catch(() => {});
      await this.removeLeftovers(cgroups);
      if (record.vm.net) this.unplug(record.vm.net);
      this.store.remove(options.id);
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async boot(channel: FrameChannel, record: VmRecord, log: string): Promise<void> {
    const f = await withTimeout(channel.next(), BOOT_TIMEOUT_MS, 'timeout' as const);
    if (f === 'timeout') throw new BerthError('internal', `berth-vm: the guest did not come up within ${BOOT_TIMEOUT_MS / 1000} s (accel ${record.vm.accel})${logTail(log)}`, { op: 'create' });
    if (!f || f.type !== F.READY) throw new BerthError('internal', `berth-vm: the VM ended while booting${logTail(log)}`, { op: 'create' });
  }

  /** Relays berth-spawn's channel from the guest: the same messages as berth-runtime's, acked here. */
  private async driveSetup(channel: FrameChannel, plan: Plan, record: VmRecord, spec: VmRecord['config'], log: string): Promise<void> {
    for (;;) {
      const f = await channel.next();
      if (!f) throw new BerthError('internal', `berth-vm: the VM ended during set-up${logTail(log)}`, { op: 'create' });
      if (f.type === F.EXIT) throw new BerthError('internal', `container init exited during set-up (${describeStatus(f.data.readUInt32LE(0))})`, { op: 'create' });
      if (f.type !== F.CHAN) continue;
      const m = parseMessage(f.data.toString());
      if (m.type === 'pid') {
        record.vm.guestPid = m.pid;
        this.store.write(record);
      } else if (m.type === 'error') {
        throw spawnError(plan, m);
      } else if (m.type === 'sync') {
        if (m.point === SYNC.clone) await this.guestClone(channel, record.vm.guestPid, spec);
        channel.send(F.ACK, 0, Buffer.from('ack\n'));
        if (m.point === SYNC.created) return;
      }
    }
  }

  /** What berth-runtime does on the host at sync "clone", done in the guest: id maps, oom_score_adj. */
  private async guestClone(channel: FrameChannel, pid: number, spec: VmRecord['config']): Promise<void> {
    const writes: Array<[string, string, string]> = [];
    if (spec.linux?.namespaces?.some((n) => n.type === 'user' && !n.path)) {
      writes.push([`/proc/${pid}/uid_map`, formatIdMap(spec.linux.uidMappings ?? []), 'linux.uidMappings']);
      writes.push([`/proc/${pid}/gid_map`, formatIdMap(spec.linux.gidMappings ?? []), 'linux.gidMappings']);
    }
    if (spec.process?.oomScoreAdj !== undefined) writes.push([`/proc/${pid}/oom_score_adj`, String(spec.process.oomScoreAdj), 'process.oomScoreAdj']);
    for (const [path, data, field] of writes) {
      const errno = await guestWrite(channel, path, Buffer.from(data));
      if (errno) throw new BerthError('internal', `${field}: writing ${path} in the guest failed (errno ${errno})`, { field, path });
    }
  }

  async start(id: string): Promise<void> {
    const record = this.read(id);
    const status = this.status(record);
    if (status !== 'created') throw precondition(`cannot start container "${id}": it is ${status}, not created`, { op: 'start' });
    const body = Buffer.from(JSON.stringify(this.ociState(record, 'created')));
    await this.withControl(id, async (ctl) => {
      const errno = await guestWrite(ctl, GUEST_FIFO, Buffer.concat([u32(body.length), body]));
      if (errno) throw precondition(`cannot start container "${id}": its init process is gone (errno ${errno})`, { op: 'start' });
    });
    record.vm.started = true;
    this.store.write(record);
    const running = this.ociState(record, 'running');
    for (const [i, h] of (record.config.hooks?.poststart ?? []).entries()) {
      await runHook(h, running, `hooks.poststart[${i}]`).catch((err: Error) => this.warn(err.message));
    }
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    const record = this.read(id);
    if (this.status(record) === 'stopped') throw precondition(`container "${id}" is not running`, { op: 'kill' });
    const sig = resolveSignal(signal);
    if (sig === 0) return;
    // SIGKILL of the monitor is SIGKILL of the VM (its children die with it): nothing to ask.
    if (sig === osConstants.signals.SIGKILL && !all) {
      process.kill(record.pid, 'SIGKILL');
      return;
    }
    await this.withControl(id, async (ctl) => {
      ctl.send(all ? F.KILL_ALL : F.KILL, 0, u32(sig));
    });
  }

  async delete(id: string, force = false): Promise<void> {
    let record: VmRecord;
    try {
      record = this.read(id);
    } catch (err) {
      if (force && err instanceof BerthError && err.kind === 'not-found') return;
      throw err;
    }
    const status = this.status(record);
    if ((status === 'running' || status === 'paused') && !force) {
      throw precondition(`cannot delete container "${id}" that is ${status}: stop it first or use --force`, { op: 'delete' });
    }
    if (status !== 'stopped') {
      try {
        process.kill(record.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await waitGone(record.pid, record.pidStartTime);
    }
    await this.removeLeftovers(record.cgroup ? this.cgroups(record) : null);
    if (record.vm.net) this.unplug(record.vm.net);
    const stopped = this.ociState(record, 'stopped');
    for (const [i, h] of (record.config.hooks?.poststop ?? []).entries()) {
      await runHook(h, stopped, `hooks.poststop[${i}]`).catch((err: Error) => this.warn(err.message));
    }
    this.store.remove(id);
  }

  private unplug(net: NetPlumbing): void {
    try {
      unplugTap(net);
    } catch (err) {
      this.warn(`removing tap ${net.tap} from ${net.netns}: ${(err as Error).message}`);
    }
  }

  /** QEMU and virtiofsd die with the monitor; whatever still runs in the cgroup is killed. */
  private async removeLeftovers(cgroups: CgroupManager | null): Promise<void> {
    if (!cgroups) return;
    for (let i = 0; i < 100; i++) {
      const pids = await cgroups.pids(true).catch(() => []);
      if (!pids.length) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await delay(20);
    }
    await cgroups.destroy().catch(() => {});
  }

  async exec(id: string, proc: Process | ((base: Process | undefined) => Process), opts: ExecOptions = {}): Promise<number> {
    const record = this.read(id);
    const status = this.status(record);
    if (status !== 'running' && status !== 'created') throw precondition(`cannot exec in container "${id}": it is ${status}`, { op: 'exec' });
    if (opts.preserveFds) throw unimplemented('--preserve-fds: host fds can not cross into the VM', { field: '--preserve-fds' });
    const process_ = typeof proc === 'function' ? proc(record.config.process) : proc;
    let relay: ConsoleRelay | undefined;
    let consoleSocket = opts.consoleSocket;
    if (process_.terminal && !consoleSocket) {
      if (opts.detach) throw invalid('exec: a detached process with a terminal needs --console-socket', { field: '--console-socket' });
      relay = await startConsoleRelay({ stdin: opts.stdin !== 'none' });
      consoleSocket = relay.socketPath;
    }
    try {
      const code = await this.execWith(record, process_, { ...opts, consoleSocket });
      if (relay) await withTimeout(relay.done, 2000, undefined);
      return code;
    } finally {
      relay?.close();
    }
  }

  private async execWith(record: VmRecord, proc: Process, opts: ExecOptions): Promise<number> {
    const spec = record.config;
    const home = gatherHostFacts({ ...spec, process: proc, mounts: [] }, record.bundle, record.rootfs).home;
    // Unique per exec: several may set up terminals at once.
    const guestConsole = proc.terminal ? guestConsoleSocket(1 + Math.floor(Math.random() * 1e9)) : undefined;
    const plan = compileExecPlan({
      pid: record.vm.guestPid,
      namespaces: (spec.linux?.namespaces ?? []).map((n) => n.type),
      process: proc,
      seccomp: spec.linux?.seccomp,
      consoleSocket: guestConsole,
      // berth-spawn leaves at once: the process becomes the agent's child, which reports its status.
      detach: true,
      host: guestHostFacts(new Map(), home),
    });
    const out = opts.output === 'none' ? 'ignore' : 'inherit';
    const child = spawn(spawnBinary(), ['--vm-exec', this.ctlPath(record.id), '3'], {
      stdio: [opts.stdin === 'none' ? 'ignore' : 'inherit', out, out, 'pipe'],
      detached: true,
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
    const channel = new FrameChannel(child.stdio[3] as Socket);
    try {
      if (proc.terminal) channel.send(F.CONSOLE, 0, Buffer.from(`${resolve(opts.consoleSocket!)}\0`));
      else channel.send(F.STDIO);
      channel.send(F.PLAN, 0, Buffer.concat([Buffer.from(guestConsole ? `${guestConsole}\0` : '\0'), encodePlan(plan)]));
      for (;;) {
        const f = await channel.next();
        if (!f) throw new BerthError('internal', 'exec: the container\'s monitor went away', { op: 'exec' });
        if (f.type === F.EXIT) throw new BerthError('internal', `exec: the process exited during set-up (${describeStatus(f.data.readUInt32LE(0))})`, { op: 'exec' });
        if (f.type !== F.CHAN) continue;
        const m = parseMessage(f.data.toString());
        if (m.type === 'error') throw spawnError(plan, m);
        if (m.type !== 'sync') continue;
        channel.send(F.ACK, 0, Buffer.from('ack\n'));
        if (m.point === SYNC.created) break;
      }
    } catch (err) {
      child.kill('SIGKILL');
      channel.socket.destroy();
      throw err;
    }
    if (opts.pidFile) writePidFile(opts.pidFile, child.pid!);
    channel.socket.destroy();
    if (opts.detach) {
      child.unref();
      return 0;
    }
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];
    for (const s of signals) process.on(s, forward);
    try {
      const { code, signal } = await exited;
      return code ?? (signal ? 128 + osConstants.signals[signal] : 255);
    } finally {
      for (const s of signals) process.off(s, forward);
    }
  }

  async pause(id: string): Promise<void> {
    const record = this.read(id);
    const status = this.status(record);
    if (status !== 'running' && status !== 'created') throw precondition(`cannot pause container "${id}": it is ${status}`, { op: 'pause' });
    await this.vmControl(id, F.PAUSE, 'pause');
    record.paused = true;
    this.store.write(record);
  }

  async resume(id: string): Promise<void> {
    const record = this.read(id);
    if (this.status(record) !== 'paused') throw precondition(`cannot resume container "${id}": it is not paused`, { op: 'resume' });
    await this.vmControl(id, F.RESUME, 'resume');
    record.paused = false;
    this.store.write(record);
  }

  private async vmControl(id: string, type: number, op: string): Promise<void> {
    await this.withControl(id, async (ctl) => {
      ctl.send(type);
      const f = await nextOf(ctl, F.DONE);
      const errno = f.data.readUInt32LE(0);
      if (errno) throw new BerthError('internal', `${op}: QEMU refused (errno ${errno})`, { op });
    });
  }

  /** The guest's processes (but the agent): pid and command line. */
  async processes(id: string): Promise<Array<{ pid: number; command: string }>> {
    const record = this.read(id);
    if (this.status(record) === 'stopped') return [];
    return await this.withControl(id, async (ctl) => {
      ctl.send(F.PS);
      const f = await nextOf(ctl, F.REPLY);
      return f.data.toString().split('\n').filter(Boolean).map((line) => {
        const tab = line.indexOf('\t');
        return { pid: Number(line.slice(0, tab)), command: line.slice(tab + 1) };
      }).sort((a, b) => a.pid - b.pid);
    });
  }

  private async withControl<T>(id: string, fn: (ctl: FrameChannel) => Promise<T>): Promise<T> {
    const path = this.ctlPath(id);
    // A path longer than sun_path (berthd's state root and a 64-hex id) goes through its directory's fd.
    const dirFd = Buffer.byteLength(path) >= 108 ? openSync(dirname(path), 'r') : undefined;
    const socket = connect(dirFd === undefined ? path : `/proc/self/fd/${dirFd}/${basename(path)}`);
    await new Promise<void>((res, rej) => {
      socket.once('connect', res);
      socket.once('error', (err) => rej(fromSystemError(err, 'connect to the VM monitor of', path)));
    }).finally(() => dirFd !== undefined && closeSync(dirFd));
    const ctl = new FrameChannel(socket);
    try {
      return await fn(ctl);
    } finally {
      await new Promise<void>((res) => socket.end(res));
      socket.destroy();
    }
  }

  /** create + start; in the foreground, waits and returns the container's exit status. */
  async run(options: CreateOptions, opts: { detach?: boolean; keep?: boolean } = {}): Promise<number> {
    let relay: ConsoleRelay | undefined;
    if (!options.consoleSocket && !opts.detach && loadBundle(options.bundle).spec.process?.terminal) {
      relay = await startConsoleRelay({ stdin: options.stdin !== 'none' });
      options = { ...options, consoleSocket: relay.socketPath };
    }
    let monitor: ChildProcess;
    try {
      ({ monitor } = await this.create(options, !opts.detach));
    } catch (err) {
      relay?.close();
      throw err;
    }
    if (opts.detach) {
      await this.start(options.id);
      return 0;
    }
    const exited = new Promise<number>((res) => {
      if (monitor.exitCode !== null || monitor.signalCode !== null) res(monitor.exitCode ?? 128 + osConstants.signals[monitor.signalCode!]);
      monitor.once('exit', (code, signal) => res(code ?? (signal ? 128 + osConstants.signals[signal] : 255)));
    });
    const forward = (sig: NodeJS.Signals): void => {
      monitor.kill(sig);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
    for (const s of signals) process.on(s, forward);
    try {
      await this.start(options.id);
      const code = await exited;
      if (relay) await withTimeout(relay.done, 2000, undefined);
      return code;
    } finally {
      for (const s of signals) process.off(s, forward);
      relay?.close();
      if (!opts.keep) await this.delete(options.id, true);
    }
  }
}

/** The guest takes over the pod interface's addresses and routes (its MAC it has from QEMU). */
async function configureGuestNet(channel: FrameChannel, net: GuestNet): Promise<void> {
  channel.send(F.NET, 0, encodeGuestNet(net));
  const f = await nextOf(channel, F.REPLY);
  const errno = f.data.readUInt32LE(0);
  if (errno) throw new BerthError('internal', `berth-vm: configuring ${net.iface} in the guest failed: ${f.data.subarray(4).toString() || `errno ${errno}`}`, { op: 'create' });
}

async function guestWrite(channel: FrameChannel, path: string, data: Buffer): Promise<number> {
  channel.send(F.WRITE, 0, Buffer.concat([Buffer.from(`${path}\0`), data]));
  const f = await nextOf(channel, F.REPLY);
  return f.data.readUInt32LE(0);
}

async function nextOf(channel: FrameChannel, type: number): Promise<Frame> {
  for (;;) {
    const f = await withTimeout(channel.next(), 30_000, 'timeout' as const);
    if (f === 'timeout') throw new BerthError('internal', 'berth-vm: the VM monitor did not answer', { op: 'control' });
    if (!f) throw new BerthError('internal', 'berth-vm: the VM monitor closed the connection (the container has ended)', { op: 'control' });
    if (f.type === type) return f;
  }
}

function describeStatus(status: number): string {
  const sig = status & 0x7f;
  return sig ? `signal ${sig}` : `status ${(status >> 8) & 0xff}`;
}

function logTail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).slice(-3);
    return lines.length ? `: ${lines.join(' | ')}` : '';
  } catch {
    return '';
  }
}

function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, String(pid));
    renameSync(tmp, path);
  } catch (err) {
    throw fromSystemError(err, 'write pid file', path);
  }
}

async function waitGone(pid: number, startTime?: number, timeoutMs = 5000): Promise<void> {
  if (!pid) return;
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid, startTime)) {
    if (Date.now() > deadline) throw new BerthError('internal', `process ${pid} did not exit after SIGKILL`, { op: 'kill' });
    await delay(5);
  }
}

function withTimeout<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((res) => {
    timer = setTimeout(() => res(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
