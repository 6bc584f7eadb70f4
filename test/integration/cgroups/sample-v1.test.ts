// CgroupSample on this machine's real cgroup v1 hierarchies (needs root): a cgroup made by the
// runtime's manager from an absolute cgroupsPath, a process in it that allocates 48 MiB and burns
// 0.3 s of CPU, then the cgroup removed. The cgroup is berth-test-sample-<random>; after() kills
// the child by pid and removes the cgroup even when the test failed half-way.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { BerthError } from '../../../src/oci/errors.ts';
import {
  detectCgroupHost, openCgroupManager, processCgroupDirs, readCgroupSample, sampleDirsFor, type CgroupHost, type CgroupManager,
} from '../../../src/runtime/cgroups/index.ts';

const MiB = 1024n * 1024n;
const id = `berth-test-sample-${randomBytes(4).toString('hex')}`;
const cgroupsPath = `/${id}`;

let host: CgroupHost | undefined;
try {
  host = await detectCgroupHost();
} catch {
  host = undefined;
}
const skip = process.getuid?.() !== 0 ? 'needs root' : host?.mode !== 'v1' ? 'needs a cgroup v1 host' : false;

let child: ChildProcess | undefined;
let manager: CgroupManager | undefined;
after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  await manager?.destroy().catch((err) => console.error(`cleanup of ${cgroupsPath} failed:`, err));
});

const PROGRAM = `
import sys, time
sys.stdin.readline()
held = bytearray(48 << 20)
start = time.process_time()
while time.process_time() - start < 0.3:
    pass
print('ready', flush=True)
sys.stdin.readline()
`;

test('a sample of a real cgroup: cpu time, memory working set and limit, pids, block io; NotFound once removed', { skip }, async () => {
  manager = await openCgroupManager({ id, cgroupsPath, host });
  await manager.create();
  await manager.set({ memory: { limit: Number(256n * MiB) }, pids: { limit: 32 } });
  const dirs = sampleDirsFor(host!, cgroupsPath, id);
  assert.equal(dirs.mode, 'v1');
  if (dirs.mode !== 'v1') return;
  for (const c of ['memory', 'cpuacct', 'pids', 'blkio']) assert.equal(dirs.paths[c], manager.paths()[c], `the runtime's own ${c} directory`);

  const empty = await readCgroupSample(dirs);
  assert.equal(empty.pids.current, 0n);
  assert.equal(empty.cpu.usageNs, 0n);

  child = spawn('python3', ['-c', PROGRAM], { stdio: ['pipe', 'pipe', 'inherit'] });
  await manager.apply(child.pid!);
  assert.deepEqual(processCgroupDirs(host!, child.pid!), dirs, 'the same directories, found from the process');
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  child.stdin!.write('go\n');
  assert.equal((await lines.next()).value, 'ready');

  const s = await readCgroupSample(dirs);
  const ms = Number(s.timestampNs / 1_000_000n);
  assert.ok(Math.abs(ms - Date.now()) < 5000, 'a Unix timestamp in ns');
  assert.ok(s.cpu.usageNs! >= 250_000_000n, `0.3 s of CPU: ${s.cpu.usageNs}`);
  assert.ok(s.cpu.userNs! + s.cpu.systemNs! >= 200_000_000n, 'user + system ticks');
  assert.equal(s.cpu.throttledPeriods, 0n);
  assert.ok(s.memory.usageBytes! >= 48n * MiB && s.memory.usageBytes! < 200n * MiB, `48 MiB charged: ${s.memory.usageBytes}`);
  assert.ok(s.memory.workingSetBytes! >= 48n * MiB && s.memory.workingSetBytes! <= s.memory.usageBytes!);
  assert.ok(s.memory.rssBytes! >= 48n * MiB, `anonymous memory: ${s.memory.rssBytes}`);
  assert.equal(s.memory.limitBytes, 256n * MiB);
  assert.equal(s.memory.oomKills, 0n);
  assert.equal(s.memory.failcnt, 0n);
  assert.ok(s.memory.pageFaults! > 12_000n, 'a fault per page touched');
  assert.deepEqual(s.pids, { current: 1n, limit: 32n });
  assert.equal(typeof s.io.readBytes, 'bigint');

  child.stdin!.end('done\n');
  await once(child, 'exit');
  await manager.destroy();
  await assert.rejects(readCgroupSample(dirs), (err: unknown) => err instanceof BerthError && err.kind === 'not-found');
});
