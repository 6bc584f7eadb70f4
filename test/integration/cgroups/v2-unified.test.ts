// The cgroup v2 manager on this machine's real unified hierarchy. The host is "hybrid": v1 for the
// controllers, plus a cgroup2 mount at /sys/fs/cgroup/unified that offers only hugetlb. That is
// enough to run the v2 code against the kernel rather than a fake tree: making cgroups and
// enabling a controller up the path, moving a process, a resource limit, freeze/thaw through
// cgroup.freeze, pids, stats and removal. Everything is named berth-test-v2-<random>; after()
// kills the test's children by pid, removes the cgroups and restores the root's subtree_control.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupManagerFromJSON, type CgroupManager } from '../../../src/runtime/cgroups/index.ts';

const UNIFIED = '/sys/fs/cgroup/unified';
const CGROUP2_SUPER_MAGIC = 0x63677270;

function unifiedWithHugetlb(): boolean {
  try {
    return statfsSync(UNIFIED).type === CGROUP2_SUPER_MAGIC && readFileSync(join(UNIFIED, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('hugetlb');
  } catch {
    return false;
  }
}
const hugePage2M = existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB');
const skip = process.getuid?.() !== 0 ? 'needs root' : !unifiedWithHugetlb() ? `needs a cgroup2 mount at ${UNIFIED} offering hugetlb` : !hugePage2M ? 'needs 2 MiB huge pages' : false;

const base = join(UNIFIED, `berth-test-v2-${randomBytes(4).toString('hex')}`);
const children = new Set<ChildProcess>();
const rootControlBefore = skip ? '' : readFileSync(join(UNIFIED, 'cgroup.subtree_control'), 'utf8').trim();

after(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('exit', r)));
  }
  for (const dir of [join(base, 'c1'), base]) {
    try {
      writeFileSync(join(dir, 'cgroup.freeze'), '0');
      rmdirSync(dir);
    } catch {
      // already removed by the manager
    }
  }
  if (!skip && !rootControlBefore.split(/\s+/).includes('hugetlb')) {
    try {
      writeFileSync(join(UNIFIED, 'cgroup.subtree_control'), '-hugetlb');
    } catch {
      // another cgroup on the host uses it now: leave it enabled
    }
  }
});

function sleeper(): ChildProcess & { pid: number } {
  const child = spawn('sleep', ['120'], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('could not start sleep');
  children.add(child);
  return child as ChildProcess & { pid: number };
}

const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8').trim();

test('v2 on the real unified hierarchy: create, apply, hugetlb limit, freeze, pids, stats, destroy', { skip }, async () => {
  const path = join(base, 'c1');
  const m: CgroupManager = cgroupManagerFromJSON({ version: 1, mode: 'v2', mountpoint: UNIFIED, path, createdParents: [] });
  await m.create();
  assert.ok(existsSync(path));
  assert.ok(read(UNIFIED, 'cgroup.subtree_control').split(/\s+/).includes('hugetlb'), 'hugetlb enabled at the root');
  assert.ok(read(base, 'cgroup.subtree_control').split(/\s+/).includes('hugetlb'), 'and in the parent berth made');
  assert.deepEqual(m.toJSON(), { version: 1, mode: 'v2', mountpoint: UNIFIED, path, createdParents: [base] });

  const child = sleeper();
  await m.apply(child.pid);
  const line = readFileSync(`/proc/${child.pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  assert.equal(line, `0::${path.slice(UNIFIED.length)}`);
  assert.deepEqual(await m.pids(), [child.pid]);

  const warnings = await m.set({ hugepageLimits: [{ pageSize: '2MB', limit: 8 * 2 * 1024 * 1024 }] });
  assert.deepEqual(warnings, []);
  assert.equal(read(path, 'hugetlb.2MB.max'), String(16 * 1024 * 1024));

  await m.freeze();
  assert.equal(await m.state(), 'paused');
  assert.match(read(path, 'cgroup.events'), /^frozen 1$/m);
  await m.thaw();
  assert.equal(await m.state(), 'running');
  assert.match(read(path, 'cgroup.events'), /^frozen 0$/m);

  const stats = await m.stats();
  assert.ok(stats.hugetlb?.['2MB'] !== undefined, `hugetlb stats for 2MB: ${Object.keys(stats.hugetlb ?? {}).join(', ')}`);

  // A cgroup reloaded from its record (another berth-runtime process) finds the same cgroup.
  const again = cgroupManagerFromJSON(JSON.parse(JSON.stringify(m.toJSON())));
  assert.deepEqual(await again.pids(), [child.pid]);

  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await again.destroy();
  assert.equal(existsSync(path), false);
  assert.equal(existsSync(base), false, 'the parent berth made is removed too');
  assert.equal(await again.exists(), false);
});
