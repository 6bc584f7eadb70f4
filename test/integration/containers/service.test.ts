// The container service on the real kernel: an image becomes a container under its monitor and
// goes through create, start, stop and remove, with exits as events; a failure at any step of
// create leaves nothing; locks hold between two services in one process and between processes;
// a container outlives a killed caller, and an exit while nobody watched is read from the exit file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ContainerService, type ContainerRecord, type CreateRequest, type CreateStep } from '../../../src/containers/index.ts';
import { acquire } from '../../../src/containers/container-lock.ts';
import { ImageStore } from '../../../src/image/image-store.ts';
import { importRootfsTar } from '../../../src/image/import-rootfs.ts';
import { imageConfigToSpec } from '../../../src/image/runtime-config.ts';
import { imageContainerBaseSpec } from '../../../src/runtime/default-spec.ts';
import { joinLogLines, parseCriLog } from '../../../src/runtime/cri-log.ts';
import { BerthError } from '../../../src/oci/errors.ts';
import type { Spec } from '../../../src/oci/runtime-spec.ts';
import { processAlive } from '../../../src/sys/proc.ts';
import { leftovers, repoRoot } from '../../support/cli.ts';

const IMAGE = 'localhost/svc-test:1';
let work: string;
let root: string;
let store: ImageStore;
let service: ContainerService;
const warnings: string[] = [];
let seq = 0;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-test-svc-'));
  root = join(work, 'store');
  const tarball = join(work, 'busybox.tar.gz');
  execFileSync(join(repoRoot, 'scripts/make-busybox-rootfs.sh'), [tarball]);
  store = ImageStore.open(root);
  await importRootfsTar(store, tarball, IMAGE, { cmd: ['sh'], env: ['PATH=/bin'] });
  service = ContainerService.open({ root, images: store, warn: (m) => warnings.push(m) });
});

after(async () => {
  const cleanup = ContainerService.open({ root, images: store });
  for (const c of cleanup.list()) await cleanup.remove(c.id, { force: true }).catch(() => undefined);
  cleanup.close();
  service.close();
  store.close();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(work)) execFileSync('umount', ['-l', mp]);
  }
  rmSync(work, { recursive: true, force: true });
});

function specFor(args: string[], mutate?: (s: Spec) => void): CreateRequest['spec'] {
  return (prepared, { id }) => {
    const spec = imageConfigToSpec(prepared.imageConfig, { cmd: args, hostname: id.slice(0, 12), terminal: false }, { base: imageContainerBaseSpec(), resolvedUser: prepared.user });
    mutate?.(spec);
    return spec;
  };
}

const request = (args: string[], extra: Partial<CreateRequest> = {}): CreateRequest => ({ image: IMAGE, name: `svc-${process.pid}-${seq++}`, spec: specFor(args), ...extra });

/** Everything a container could leave: record, snapshot, mounts, cgroups, runtime state, lock, monitor. */
function traces(id: string): string[] {
  const dir = join(root, 'containers', id);
  const found = leftovers(join(dir, 'rootfs'), undefined, id);
  if (existsSync(dir)) found.push(`directory ${dir}`);
  if (store.snapshots.stat(id)) found.push(`snapshot ${id}`);
  if (existsSync(join(root, 'runtime', id))) found.push('runtime state');
  if (existsSync(join(root, 'locks', 'containers', `${id}.lock`))) found.push('lock file');
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) found.push(`process ${pid}`);
    } catch {
      // gone
    }
  }
  return found;
}

const onEvent = <T>(name: 'created' | 'started' | 'exited', id: string, s = service): Promise<ContainerRecord> =>
  new Promise((resolve) => {
    const listener = (r: ContainerRecord): void => {
      if (r.id !== id) return;
      s.events.off(name, listener);
      resolve(r);
    };
    s.events.on(name, listener);
  });

test('create, start, exit as an event, remove: the monitor runs the plan, the record follows, nothing is left', async () => {
  const created = onEvent('created', '');
  void created;
  const { record } = await service.create(request(['sh', '-c', 'read x < /dev/null; echo hello; exit 3']));
  const id = record.id;
  assert.equal(service.inspect(record.name).status, 'created');
  assert.equal(service.inspect(id).supervision, 'supervised');
  const init = record.init!.pid;
  const monitor = record.monitor!.pid;
  assert.equal(Number(readFileSync(`/proc/${init}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]), monitor, 'init is the monitor\'s child');
  assert.deepEqual(readFileSync(`/proc/${monitor}/task/${monitor}/children`, 'utf8').trim(), String(init), 'no runtime program was started');
  const exited = onEvent('exited', id);
  const started = await service.start(id);
  assert.equal(started.state, 'running');
  assert.ok(started.started);
  const gone = await exited;
  assert.deepEqual([gone.exitCode, gone.reason, gone.state], [3, 'Error', 'stopped']);
  const exitFile = join(root, 'containers', id, 'exit-code');
  const mtime = statSync(exitFile, { bigint: true }).mtimeNs;
  assert.equal(gone.finished!.replace(/Z$/, ''), new Date(Number(mtime / 1_000_000n)).toISOString().replace(/\.\d+Z$/, `.${String(mtime % 1_000_000_000n).padStart(9, '0')}`), 'finished is the exit file\'s time, to the ns');
  const info = service.inspect(id);
  assert.deepEqual([info.status, info.exitCode, info.supervision], ['stopped', 3, 'ended']);
  const lines: string[] = [];
  for await (const batch of service.logs(id)) lines.push(...batch.map((l) => `${l.stream}:${l.text}`));
  assert.deepEqual(lines, ['stdout:hello']);
  assert.ok(JSON.parse(readFileSync(join(root, 'containers', id, 'meta.json'), 'utf8')).exitCode === 3, 'the exit is in the record on disk');
  await service.remove(id);
  assert.deepEqual(traces(id), []);
  assert.throws(() => service.inspect(id), /no such container/);
  await service.remove(id, { ifExists: true }); // the CRI's RemoveContainer is idempotent
});

test('stop: the stop signal, then SIGKILL after the grace period; a stopped container stops at once', async () => {
  const polite = (await service.create(request(['sh', '-c', 'trap "exit 5" TERM; while true; do sleep 0.1; done']))).record;
  const stubborn = (await service.create(request(['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done']))).record;
  await service.start(polite.id);
  await service.start(stubborn.id);
  await delay(200); // the traps are set
  const t0 = Date.now();
  assert.equal((await service.stop(polite.id, { timeout: 10 })).exitCode, 5);
  assert.ok(Date.now() - t0 < 5000, 'it did not wait out the grace period');
  const t1 = Date.now();
  const killed = await service.stop(stubborn.id, { timeout: 1 });
  assert.ok(Date.now() - t1 >= 1000, 'it waited for the grace period');
  assert.deepEqual([killed.exitCode, killed.reason], [137, 'Error']);
  assert.equal((await service.stop(stubborn.id)).exitCode, 137, 'stopping again is done already');
  // A container that was created and never started stops too.
  const idle = (await service.create(request(['sleep', '1000']))).record;
  assert.equal((await service.stop(idle.id, { timeout: 1 })).state, 'stopped');
  for (const r of [polite, stubborn, idle]) {
    await service.remove(r.id);
    assert.deepEqual(traces(r.id), []);
  }
});

test('a failure at each step of create, and a failing plan, and an abort, leave nothing behind', async () => {
  const steps: CreateStep[] = ['reserve', 'snapshot', 'spec', 'mount', 'runtime', 'record'];
  for (const failAt of steps) {
    const faulty = ContainerService.open({ root, images: store, beforeStep: (s) => {
      if (s === failAt) throw new BerthError('internal', `injected at ${s}`);
    } });
    const id = `fault-${failAt}-${process.pid}`;
    await assert.rejects(faulty.create(request(['true'], { id })), new RegExp(`injected at ${failAt}`));
    assert.deepEqual(traces(id), [], `after a failure at ${failAt}`);
    faulty.close();
  }
  const bad = `fault-plan-${process.pid}`;
  await assert.rejects(service.create(request(['/no/such/program'], { id: bad })), (e: unknown) => e instanceof BerthError && e.where.field === 'process.args[0]');
  assert.deepEqual(traces(bad), []);
  const hooked = `fault-hook-${process.pid}`;
  const failingHook = request(['true'], { id: hooked, spec: specFor(['true'], (s) => (s.hooks = { createRuntime: [{ path: '/bin/false' }] })) });
  await assert.rejects(service.create(failingHook), /hooks\.createRuntime\[0\]/);
  assert.deepEqual(traces(hooked), []);
  const aborted = `fault-abort-${process.pid}`;
  const controller = new AbortController();
  const slowHook = request(['true'], { id: aborted, signal: controller.signal, spec: specFor(['true'], (s) => (s.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'] }] })) });
  const creating = service.create(slowHook);
  await delay(500);
  controller.abort();
  await assert.rejects(creating, /interrupted/);
  assert.deepEqual(traces(aborted), []);
  assert.equal(service.list().some((c) => c.id.startsWith('fault-')), false);
});

test('two services in one process: the lock holds, and each reads the record afresh', async () => {
  const a = ContainerService.open({ root, images: store });
  const b = ContainerService.open({ root, images: store });
  const { record } = await a.create(request(['sleep', '1000']));
  const starts = await Promise.allSettled([a.start(record.id), b.start(record.id)]);
  assert.deepEqual(starts.map((s) => s.status).sort(), ['fulfilled', 'rejected']);
  const refused = starts.find((s) => s.status === 'rejected') as PromiseRejectedResult;
  assert.match(String(refused.reason.message), /cannot start container .*: it is running/);
  const removes = await Promise.allSettled([a.remove(record.id, { force: true }), b.remove(record.id, { force: true })]);
  assert.deepEqual(removes.map((s) => s.status).sort(), ['fulfilled', 'rejected']);
  assert.match(String((removes.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason.message), /no such container/);
  assert.deepEqual(traces(record.id), []);
  a.close();
  b.close();
});

/** Runs a script with the service in another process; resolves with its stdout once it exits. */
function inChild(script: string): { out: Promise<string>; child: ReturnType<typeof spawn> } {
  const prelude = `
    import { ContainerService } from ${JSON.stringify(join(repoRoot, 'src/containers/index.ts'))};
    import { acquire } from ${JSON.stringify(join(repoRoot, 'src/containers/container-lock.ts'))};
    const root = ${JSON.stringify(root)};
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', prelude + script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return { child, out: new Promise((resolve) => child.on('exit', () => resolve(out))) };
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await delay(20);
  }
}

test('two processes: one holding the container\'s lock makes the other wait; racing removes remove once', async () => {
  const { record } = await service.create(request(['sleep', '1000']));
  const holder = inChild(`
    const lock = await acquire(${JSON.stringify(join(root, 'locks', 'containers', `${record.id}.lock`))});
    console.log('held');
    await new Promise((r) => setTimeout(r, 1000));
    lock.release();
  `);
  let said = '';
  holder.child.stdout!.on('data', (d) => (said += d));
  await until('the other process holds the lock', () => said.includes('held'));
  const t0 = Date.now();
  await service.start(record.id);
  assert.ok(Date.now() - t0 >= 700, `start waited for the other process (${Date.now() - t0} ms)`);
  await holder.out;
  const racers = [0, 1, 2].map(() => inChild(`
    const s = ContainerService.open({ root });
    try { await s.remove(${JSON.stringify(record.id)}, { force: true }); console.log('removed'); }
    catch (e) { console.log(e.kind); }
    s.close();
  `));
  const own = service.remove(record.id, { force: true }).then(() => 'removed', (e: BerthError) => e.kind);
  const outcomes = [...(await Promise.all(racers.map((r) => r.out))).map((o) => o.trim()), await own];
  assert.deepEqual(outcomes.sort(), ['not-found', 'not-found', 'not-found', 'removed'], outcomes.join(', '));
  assert.deepEqual(traces(record.id), []);
});

test('a killed caller does not lose its container; an exit while nobody watched is read from the exit file', async () => {
  const name = `svc-orphan-${process.pid}`;
  const creator = inChild(`
    const s = ContainerService.open({ root });
    const { record } = await s.create({ image: ${JSON.stringify(IMAGE)}, name: ${JSON.stringify(name)}, spec: () => JSON.parse(${JSON.stringify(JSON.stringify(specJson(['sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.1; done'])))}) });
    await s.start(record.id);
    console.log(record.id);
    await new Promise(() => {}); // waits here until killed
  `);
  let id = '';
  creator.child.stdout!.on('data', (d) => (id += d));
  await until('the other process created and started it', () => id.includes('\n'));
  id = id.trim();
  creator.child.kill('SIGKILL');
  await creator.out;
  service.refresh();
  const info = service.inspect(name);
  assert.deepEqual([info.status, info.supervision], ['running', 'supervised'], 'it runs on, supervised');
  // A berthd restarting: it watches every live monitor, and hears the exit without polling.
  const watcher = ContainerService.open({ root, images: store, watch: true });
  const heard = onEvent('exited', id, watcher);
  process.kill(info.init!.pid, 'SIGTERM');
  const exited = await heard;
  assert.deepEqual([exited.exitCode, exited.reason], [7, 'Error']);
  watcher.close();
  // Ended while nobody watched: a later service reads it, and (watching) records it.
  const { record } = await service.create(request(['sh', '-c', 'sleep 0.3; exit 4']));
  await service.start(record.id);
  service.close();
  await until('the exit file', () => existsSync(join(root, 'containers', record.id, 'exit-code')));
  const later = ContainerService.open({ root, images: store, watch: true });
  const seen = later.inspect(record.id);
  assert.deepEqual([seen.status, seen.exitCode, seen.supervision], ['stopped', 4, 'ended']);
  assert.ok(seen.finished, 'with the time it ended');
  await until('the exit recorded', () => JSON.parse(readFileSync(join(root, 'containers', record.id, 'meta.json'), 'utf8')).exitCode === 4);
  for (const c of [id, record.id]) {
    await later.remove(c);
    assert.deepEqual(traces(c), []);
  }
  later.close();
  service = ContainerService.open({ root, images: store, warn: (m) => warnings.push(m) });
});

/** The spec the other process uses (it has no function to build one): busybox's sh with PATH. */
function specJson(args: string[]): Spec {
  const spec = imageConfigToSpec({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: ['PATH=/bin'] } }, { cmd: args, terminal: false }, { base: imageContainerBaseSpec() });
  return spec;
}

test('exec with the caller\'s pipes, logs, and a reopened log', async () => {
  const { record } = await service.create(request(['sh', '-c', 'while true; do echo tick; sleep 0.1; done']));
  await service.start(record.id);
  const outFile = join(work, 'exec.out');
  const fd = openSync(outFile, 'w');
  const code = await service.exec(record.id, { ...service.process(record.id)!, args: ['sh', '-c', 'echo "in $(hostname)"; exit 6'] }, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  assert.equal(code, 6);
  assert.equal(readFileSync(outFile, 'utf8'), `in ${record.id.slice(0, 12)}\n`);
  const log = join(root, 'containers', record.id, 'container.log');
  await until('output in the log', () => existsSync(log) && readFileSync(log, 'utf8').includes('tick'));
  renameSync(log, `${log}.kubelet`);
  await service.reopenLog(record.id);
  await until('output in the new log', () => existsSync(log) && readFileSync(log, 'utf8').includes('tick'));
  const before = readFileSync(`${log}.kubelet`, 'utf8').length;
  await delay(300);
  assert.equal(readFileSync(`${log}.kubelet`, 'utf8').length, before, 'the old file stopped growing');
  assert.ok(joinLogLines(parseCriLog(readFileSync(log, 'utf8'))).every((l) => l.text === 'tick'));
  await service.stop(record.id, { timeout: 1 });
  await assert.rejects(service.exec(record.id, { ...service.process(record.id)!, args: ['true'] }), /cannot exec in container .*: it is stopped/);
  await assert.rejects(service.reopenLog(record.id), /not running in the background/);
  await service.remove(record.id);
  assert.deepEqual(traces(record.id), []);
});

test('a container the OOM killer ended says so (OOMKilled)', async () => {
  const { record } = await service.create(request(['sh', '-c', 'x=a; while true; do x="$x$x"; done'], {
    spec: specFor(['sh', '-c', 'x=a; while true; do x="$x$x"; done'], (s) => (s.linux!.resources = { ...s.linux!.resources, memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } })),
  }));
  const exited = onEvent('exited', record.id);
  await service.start(record.id);
  const gone = await exited;
  assert.deepEqual([gone.exitCode, gone.reason], [137, 'OOMKilled']);
  await service.remove(record.id);
  assert.deepEqual(traces(record.id), []);
  assert.equal(processAlive(record.init!.pid, record.init!.startTime), false);
});
