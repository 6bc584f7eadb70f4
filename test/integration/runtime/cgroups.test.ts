// Container cgroups on this host's v1 hierarchy: limits from the config, update, pause/resume,
// events, kill --all, and removal on delete (also after a failed create).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { leftovers } from '../../support/cli.ts';
import { runtimeSuite } from '../../support/runtime-suite.ts';

const { rt, newBundle } = runtimeSuite('cg');

const cgroupOf = (pid: number, controller: string): string => {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]!.split(',').includes(controller))!;
  return join('/sys/fs/cgroup', controller, line.split(':')[2]!);
};

test('resources from the config are written; update changes them; delete removes the cgroups', () => {
  const b = newBundle(['sleep', '60'], (s) => {
    s.linux!.cgroupsPath = '/berth-test-cg/limited';
    s.linux!.resources = { ...s.linux!.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 32 }, cpu: { shares: 512, quota: 50000, period: 100000 } };
  });
  rt.ok(['run', '-d', '--bundle', b.dir, 'cg-limits']);
  const pid = JSON.parse(rt.ok(['state', 'cg-limits'])).pid;
  const mem = cgroupOf(pid, 'memory');
  assert.equal(mem, '/sys/fs/cgroup/memory/berth-test-cg/limited');
  assert.equal(readFileSync(join(mem, 'memory.limit_in_bytes'), 'utf8').trim(), String(64 * 1024 * 1024));
  assert.equal(readFileSync(join(cgroupOf(pid, 'pids'), 'pids.max'), 'utf8').trim(), '32');
  assert.equal(readFileSync(join(cgroupOf(pid, 'cpu'), 'cpu.shares'), 'utf8').trim(), '512');
  assert.equal(readFileSync(join(cgroupOf(pid, 'cpu'), 'cpu.cfs_quota_us'), 'utf8').trim(), '50000');
  assert.match(readFileSync(join(cgroupOf(pid, 'devices'), 'devices.list'), 'utf8'), /^c 1:3 rwm$/m);

  rt.ok(['update', '--memory', '128m', '--pids-limit', '64', 'cg-limits']);
  assert.equal(readFileSync(join(mem, 'memory.limit_in_bytes'), 'utf8').trim(), String(128 * 1024 * 1024));
  assert.equal(readFileSync(join(cgroupOf(pid, 'pids'), 'pids.max'), 'utf8').trim(), '64');
  rt.ok(['update', '-r', '-', 'cg-limits'], { input: JSON.stringify({ pids: { limit: 16 } }) });
  assert.equal(readFileSync(join(cgroupOf(pid, 'pids'), 'pids.max'), 'utf8').trim(), '16');
  assert.match(rt.run(['update', '--memory', 'lots', 'cg-limits']).stderr, /--memory: "lots" is not a size/);

  rt.ok(['delete', '-f', 'cg-limits']);
  assert.equal(existsSync(mem), false);
  assert.equal(existsSync('/sys/fs/cgroup/memory/berth-test-cg'), false, 'parents berth made are removed too');
});

test('pause freezes every process, resume thaws them', () => {
  const b = newBundle(['sh', '-c', 'sleep 60 & sleep 61; exit 0']);
  rt.ok(['run', '-d', '--bundle', b.dir, 'cg-pause']);
  rt.ok(['pause', 'cg-pause']);
  assert.equal(JSON.parse(rt.ok(['state', 'cg-pause'])).status, 'paused');
  const pids: number[] = JSON.parse(rt.ok(['ps', '--format', 'json', 'cg-pause']));
  assert.equal(pids.length, 3);
  for (const p of pids) assert.match(readFileSync(`/proc/${p}/status`, 'utf8'), /^State:\s+[DS]/m);
  assert.equal(readFileSync(join(cgroupOf(pids[0]!, 'freezer'), 'freezer.state'), 'utf8').trim(), 'FROZEN');
  rt.ok(['resume', 'cg-pause']);
  assert.equal(JSON.parse(rt.ok(['state', 'cg-pause'])).status, 'running');
  assert.equal(readFileSync(join(cgroupOf(pids[0]!, 'freezer'), 'freezer.state'), 'utf8').trim(), 'THAWED');
  assert.notEqual(rt.run(['resume', 'cg-pause']).code, 0);
  rt.ok(['pause', 'cg-pause']);
  rt.ok(['delete', '-f', 'cg-pause']);
  assert.deepEqual(leftovers(b.rootfs, join(rt.root, 'cg-pause'), 'cg-pause'), []);
});

test('kill --all reaches every process when there is no pid namespace', () => {
  const b = newBundle(['sh', '-c', 'sleep 60 & sleep 61; exit 0'], (s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid')));
  rt.ok(['run', '-d', '--bundle', b.dir, 'cg-killall']);
  const pids: number[] = JSON.parse(rt.ok(['ps', '--format', 'json', 'cg-killall']));
  assert.equal(pids.length, 3);
  rt.ok(['kill', '--all', 'cg-killall', 'KILL']);
  for (let i = 0; i < 200 && pids.some((p) => existsSync(`/proc/${p}/stat`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, 'utf8'))); i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  for (const p of pids) assert.ok(!existsSync(`/proc/${p}/stat`) || /^\S+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, 'utf8')), `pid ${p} is gone`);
  rt.ok(['delete', 'cg-killall']);
});

test('events --stats prints runc\'s stats JSON; the stream stops when the container does', async () => {
  const b = newBundle(['sleep', '1']);
  rt.ok(['run', '-d', '--bundle', b.dir, 'cg-events']);
  const once = JSON.parse(rt.ok(['events', '--stats', 'cg-events']));
  assert.equal(once.type, 'stats');
  assert.equal(once.id, 'cg-events');
  assert.ok(once.data.memory.usage.usage > 0);
  assert.ok(once.data.pids.current >= 1);
  const started = Date.now();
  const stream = rt.ok(['events', '--interval', '200ms', 'cg-events']).trim().split('\n');
  assert.ok(stream.length >= 2, 'several stats events');
  assert.ok(Date.now() - started < 5000);
  rt.ok(['delete', 'cg-events']);
});

test('events reports an OOM kill in the container', () => {
  const b = newBundle(['sh', '-c', 'sleep 1; x=$(head -c 64000000 /dev/zero | tr "\\0" a); sleep 2'], (s) => {
    s.linux!.resources = { ...s.linux!.resources, memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 } };
  });
  rt.ok(['run', '-d', '--bundle', b.dir, 'cg-oom']);
  const lines = rt.ok(['events', '--interval', '500ms', 'cg-oom']).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((e) => e.type === 'oom' && e.id === 'cg-oom'), JSON.stringify(lines.map((e) => e.type)));
  rt.ok(['delete', '-f', 'cg-oom']);
});

test('the device cgroup denies a device the config does not allow', () => {
  const r = rt.run(['run', '--bundle', (() => {
    const b = newBundle(['sh', '-c', 'mknod /tmp/mem c 1 1 && cat /tmp/mem >/dev/null; echo "status=$?"; head -c1 /dev/zero >/dev/null && echo zero-ok'], (s) => {
      s.process!.capabilities = { bounding: ['CAP_MKNOD'], effective: ['CAP_MKNOD'], permitted: ['CAP_MKNOD'] };
      s.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
    });
    return b.dir;
  })(), 'cg-devices']);
  assert.match(r.stderr, /Operation not permitted/);
  assert.match(r.stdout, /status=1\nzero-ok/);
});

test('an invalid resource value fails create and leaves no cgroup', () => {
  const b = newBundle(['true'], (s) => (s.linux!.resources = { memory: { limit: 100 * 1024 * 1024, swap: 1024 } }));
  const r = rt.run(['create', '--bundle', b.dir, 'cg-bad']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /linux\.resources\.memory\.swap/);
  assert.deepEqual(leftovers(b.rootfs, join(rt.root, 'cg-bad'), 'cg-bad'), []);
});
