// The cgroup manager on this machine's real cgroup v1 hierarchies (needs root). Every cgroup is
// named berth-test-<random>; after() thaws, kills the test's own children by pid and removes every
// directory the tests made, even when a test failed half-way.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BerthError } from '../../../src/oci/errors.ts';
import {
  cgroupManagerFromJSON, detectCgroupHost, encodeEvent, oomEvent, openCgroupManager, statsEvent, watchOom, withDefaultDeviceRules,
  type CgroupHost, type CgroupManager,
} from '../../../src/runtime/cgroups/index.ts';
import { ownCgroupDir } from '../../../src/runtime/cgroups/cgroups-path.ts';
import { removeCgroupTree } from '../../../src/runtime/cgroups/cgroupfs.ts';

const MiB = 1024 * 1024;
const base = `berth-test-${randomBytes(4).toString('hex')}`;

let host: CgroupHost | undefined;
try {
  host = await detectCgroupHost();
} catch {
  host = undefined;
}
const skip = process.getuid?.() !== 0 ? 'needs root' : host?.mode !== 'v1' ? 'needs a cgroup v1 host' : false;

const children = new Set<ChildProcess>();
const managers: CgroupManager[] = [];

function spawnChild(command: string, args: string[], stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess & { pid: number } {
  const child = spawn(command, args, { stdio: [stdin, 'ignore', 'ignore'] });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  children.add(child);
  return child as ChildProcess & { pid: number };
}

function exited(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode ?? child.exitCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited(child);
  children.delete(child);
}

async function open(cgroupsPath: string | undefined, id = 'ctr'): Promise<CgroupManager> {
  const m = await openCgroupManager({ id, cgroupsPath, host });
  managers.push(m);
  return m;
}

const read = async (dir: string, file: string): Promise<string> => (await readFile(join(dir, file), 'utf8')).trim();

async function procState(pid: number): Promise<string> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return /^State:\s+(\S)/m.exec(status)?.[1] ?? '?';
}

/** /proc/<pid>/cgroup as controller list -> path. */
async function procCgroups(pid: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').filter(Boolean)) {
    const [, list, path] = line.split(':');
    out.set(list ?? '', path ?? '');
  }
  return out;
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(10);
  }
}

after(async () => {
  if (skip || !host || host.mode !== 'v1') return;
  for (const m of managers) await m.thaw().catch(() => {}); // a frozen task cannot die
  for (const child of [...children]) await killChild(child);
  for (const m of managers) await m.destroy().catch(() => {});
  // Whatever is left (a test that died between mkdir and the manager's bookkeeping).
  const hierarchies = [...host.hierarchies, ...(host.unified ? [host.unified] : [])];
  for (const h of hierarchies) {
    for (const top of [join(h.mountpoint, base), join(ownCgroupDir(h), base), join(ownCgroupDir(h), `${base}-rel`)]) {
      if (existsSync(top)) await removeCgroupTree(top).catch((err) => console.error(`cleanup of ${top} failed:`, err));
    }
  }
});

test('lifecycle on the real hierarchy: create, limits, join, freeze and thaw, pids, stats, update, destroy', { skip }, async () => {
  const m = await open(`/${base}/ctr`);
  const paths = m.paths();
  assert.equal(paths.memory, `/sys/fs/cgroup/memory/${base}/ctr`);
  const sleeper = spawnChild('sleep', ['600']);

  await m.create();
  for (const dir of Object.values(paths)) assert.ok(existsSync(dir), dir);
  // A fresh cpuset cgroup has no cpus; create copied them from the parent at every level.
  assert.notEqual(await read(join('/sys/fs/cgroup/cpuset', base), 'cpuset.cpus'), '');

  const warnings = await m.set(withDefaultDeviceRules({
    memory: { limit: 64 * MiB, swap: 96 * MiB, reservation: 32 * MiB, swappiness: 10 },
    pids: { limit: 16 },
    cpu: { shares: 512, quota: 25000, period: 100000, cpus: '0', mems: '0' },
    blockIO: { weight: 500 },
  }));
  assert.deepEqual(warnings, []);
  assert.equal(await read(paths.memory as string, 'memory.limit_in_bytes'), String(64 * MiB));
  assert.equal(await read(paths.memory as string, 'memory.memsw.limit_in_bytes'), String(96 * MiB));
  assert.equal(await read(paths.memory as string, 'memory.soft_limit_in_bytes'), String(32 * MiB));
  assert.equal(await read(paths.memory as string, 'memory.swappiness'), '10');
  assert.equal(await read(paths.pids as string, 'pids.max'), '16');
  assert.equal(await read(paths.cpu as string, 'cpu.shares'), '512');
  assert.equal(await read(paths.cpu as string, 'cpu.cfs_quota_us'), '25000');
  assert.equal(await read(paths.cpu as string, 'cpu.cfs_period_us'), '100000');
  assert.equal(await read(paths.cpuset as string, 'cpuset.cpus'), '0');
  const devices = (await read(paths.devices as string, 'devices.list')).split('\n');
  assert.ok(devices.includes('c 1:3 rwm') && devices.includes('c 136:* rwm'), devices.join(' | '));
  assert.ok(!devices.includes('a *:* rwm'), 'the cgroup should no longer allow every device');

  await m.apply(sleeper.pid);
  const joined = await procCgroups(sleeper.pid);
  assert.equal(joined.get('memory'), `/${base}/ctr`);
  assert.equal(joined.get('cpu'), `/${base}/ctr`);
  assert.equal(joined.get('freezer'), `/${base}/ctr`);
  assert.deepEqual(await m.pids(), [sleeper.pid]);

  await m.freeze();
  assert.equal(await m.state(), 'paused');
  assert.equal(await read(paths.freezer as string, 'freezer.state'), 'FROZEN');
  assert.equal(await procState(sleeper.pid), 'D', 'a task frozen by the v1 freezer shows as D');
  await m.thaw();
  assert.equal(await m.state(), 'running');
  await eventually(async () => (await procState(sleeper.pid)) === 'S', 'the thawed sleep to be sleeping again');

  const stats = await m.stats();
  assert.deepEqual(stats.pids, { current: 1n, limit: 16n });
  assert.equal(stats.memory.usage.limit, BigInt(64 * MiB));
  assert.equal(stats.memory.swap.limit, BigInt(96 * MiB));
  assert.deepEqual(stats.cpuset.cpus, [0]);
  assert.ok('total_rss' in stats.memory.raw);
  const event = JSON.parse(encodeEvent(statsEvent('ctr', stats))) as { type: string; id: string; data: { pids: { limit: number } } };
  assert.deepEqual([event.type, event.id, event.data.pids.limit], ['stats', 'ctr', 16]);

  // Raising both limits past the current memsw needs memsw first; lowering needs memory first.
  await m.set({ memory: { limit: 128 * MiB, swap: 256 * MiB } });
  assert.equal(await read(paths.memory as string, 'memory.memsw.limit_in_bytes'), String(256 * MiB));
  assert.equal(await read(paths.memory as string, 'memory.limit_in_bytes'), String(128 * MiB));
  await m.set({ memory: { limit: 32 * MiB, swap: 48 * MiB } });
  assert.equal(await read(paths.memory as string, 'memory.limit_in_bytes'), String(32 * MiB));
  assert.equal(await read(paths.memory as string, 'memory.memsw.limit_in_bytes'), String(48 * MiB));

  await killChild(sleeper);
  // A later process finds the cgroups from the state file alone.
  const again = cgroupManagerFromJSON(JSON.parse(JSON.stringify(m.toJSON())));
  await again.destroy();
  for (const dir of Object.values(paths)) assert.ok(!existsSync(dir), `${dir} was not removed`);
  for (const h of ['memory', 'cpu', 'cpuset', 'freezer', 'systemd', 'unified']) {
    assert.ok(!existsSync(join('/sys/fs/cgroup', h, base)), `the parent ${base} in ${h} was not removed`);
  }
  assert.equal(await m.exists(), false);
  await m.destroy(); // already gone: fine
});

test('destroy waits briefly for exiting processes, and refuses while one stays', { skip }, async () => {
  const m = await open(`/${base}/busy`);
  await m.create();
  const stays = spawnChild('sleep', ['600']);
  await m.apply(stays.pid);
  await assert.rejects(m.destroy(), (err: unknown) =>
    err instanceof BerthError && err.kind === 'failed-precondition' && err.where.errno === 'EBUSY' && err.message.includes('processes'));
  assert.ok(await m.exists());
  // Killed but not reaped yet when destroy starts: the retries cover the exit.
  stays.kill('SIGKILL');
  await m.destroy();
  assert.equal(await m.exists(), false);
  await killChild(stays);
});

test('kernel refusals name the config field: clamped cpu shares, memsw below the memory limit', { skip }, async () => {
  const m = await open(`/${base}/refusals`);
  await m.create();
  await assert.rejects(m.set({ cpu: { shares: 1 } }), (err: unknown) =>
    err instanceof BerthError && err.kind === 'invalid-argument' && err.where.field === 'linux.resources.cpu.shares' && /minimum allowed/.test(err.message));
  await m.set({ memory: { limit: 64 * MiB } });
  await assert.rejects(m.set({ memory: { swap: 16 * MiB } }), (err: unknown) =>
    err instanceof BerthError && err.where.field === 'linux.resources.memory.swap' && err.where.errno === 'EINVAL' &&
    err.where.path?.endsWith('memory.memsw.limit_in_bytes') === true);
  await assert.rejects(m.set({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }), (err: unknown) =>
    err instanceof BerthError && err.kind === 'failed-precondition' && err.message.includes('hugetlb'));
  await m.destroy();
});

test('an OOM kill in the cgroup is counted and reported as a runc oom event', { skip }, async () => {
  const m = await open(`/${base}/oom`, 'oomctr');
  await m.create();
  await m.set({ memory: { limit: 32 * MiB, swap: 32 * MiB } });
  // The shell waits for a line before turning into a dd whose 64 MiB buffer cannot fit.
  const hog = spawnChild('sh', ['-c', 'read line; exec dd if=/dev/zero of=/dev/null bs=64M count=1'], 'pipe');
  await m.apply(hog.pid);
  assert.equal(await m.oomKillCount(), 0n);
  const events: string[] = [];
  const watch = watchOom(m, () => events.push(encodeEvent(oomEvent('oomctr'))), { intervalMs: 20 });
  try {
    hog.stdin?.end('go\n');
    assert.equal(await exited(hog), 'SIGKILL');
    await eventually(async () => events.length > 0, 'the oom event');
    assert.deepEqual(events, ['{"type":"oom","id":"oomctr"}\n']);
    assert.ok((await m.oomKillCount()) >= 1n);
  } finally {
    watch.stop();
    await watch.done;
  }
  children.delete(hog);
  await m.destroy();
});

test('an empty cgroupsPath puts the container under the runtime own cgroup, per hierarchy (runc behaviour)', { skip }, async () => {
  if (!host || host.mode !== 'v1') return;
  const id = `${base}-rel`;
  const m = await open(undefined, id);
  const memory = host.hierarchies.find((h) => h.controllers.includes('memory'));
  assert.ok(memory);
  assert.equal(m.paths().memory, join(ownCgroupDir(memory), id));
  await m.create();
  const sleeper = spawnChild('sleep', ['600']);
  await m.apply(sleeper.pid);
  const mine = await procCgroups(process.pid);
  const its = await procCgroups(sleeper.pid);
  for (const [list, path] of mine) {
    if (list === '') continue;
    assert.equal(its.get(list), join(path, id), list);
  }
  await killChild(sleeper);
  await m.destroy();
  assert.equal(await m.exists(), false);
});
