// berth-runtime on a cgroup v2-only host, as this v1 machine can show one: every command runs in
// its own private mount namespace with the unified hierarchy mounted at /sys/fs/cgroup (the same
// hierarchy the host has at /sys/fs/cgroup/unified), so berth-runtime detects v2 and puts device
// rules in an eBPF program. A container with CAP_MKNOD makes a node for the host's disk and cannot
// read it, while /dev/null, /dev/zero and /dev/urandom work; `update` with new device rules swaps
// the program (bpftool shows exactly one afterwards) and the new rules hold.
// The namespaces' mounts go with their last process; after() deletes every container, removes the
// test's cgroups and the root's hugetlb enablement if this test added it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../../../src/oci/runtime-spec.ts';
import { makeBundle, type TestBundle } from '../../support/bundle.ts';
import { berthRuntimeBin, runCli, RuntimeCli, type RunResult } from '../../support/cli.ts';
import { bpftoolShow, hostDisk, restoreRootControllers, rootControllers, UNIFIED, v2DeviceTestsSkip } from './v2-host.ts';

function unshareMissing(): string | false {
  try {
    execFileSync('unshare', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'needs unshare';
  }
}
const skip = v2DeviceTestsSkip() || unshareMissing();

/** berth-runtime, each command in a fresh private mount namespace that shows cgroup v2 only. */
class V2ViewRuntime extends RuntimeCli {
  override run(args: string[], opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): RunResult {
    const script = 'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"';
    return runCli('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', berthRuntimeBin, '--root', this.root, ...args], opts);
  }
}

const prefix = `berth-test-v2view-${randomBytes(4).toString('hex')}`;
const rt = new V2ViewRuntime();
const bundles: TestBundle[] = [];
const rootControlBefore = skip ? [] : rootControllers();

after(() => {
  rt.cleanup();
  for (const b of bundles) b.cleanup();
  const base = join(UNIFIED, prefix);
  if (existsSync(base)) {
    for (const e of readdirSync(base, { withFileTypes: true })) if (e.isDirectory()) rmdirSync(join(base, e.name));
    rmdirSync(base);
  }
  if (!skip) restoreRootControllers(rootControlBefore);
});

const disk = hostDisk();

function bundle(args: string[], name: string, mutate: (s: Spec) => void = () => {}): TestBundle {
  const b = makeBundle(args, (s) => {
    s.process!.capabilities = { bounding: ['CAP_MKNOD'], effective: ['CAP_MKNOD'], permitted: ['CAP_MKNOD'] };
    s.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
    s.linux!.cgroupsPath = `/${prefix}/${name}`;
    mutate(s);
  });
  bundles.push(b);
  return b;
}

const PROBE = [
  `mknod /tmp/disk b ${disk.major} ${disk.minor} || echo mknod-failed`,
  'head -c 512 /tmp/disk >/dev/null && echo disk-read || echo disk-denied',
  'head -c 1 /dev/zero >/dev/null && echo zero-read || echo zero-denied',
  'head -c 1 /dev/urandom >/dev/null && echo urandom-read || echo urandom-denied',
  'echo x >/dev/null && echo null-write || echo null-denied',
  'rm -f /tmp/disk',
].join('; ');

test('v2-only view: a container that mknods the host disk cannot read it; the usual devices work', { skip }, () => {
  const b = bundle(['sh', '-c', PROBE], 'run');
  const r = rt.run(['run', '--bundle', b.dir, `${prefix}-run`]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['disk-denied', 'zero-read', 'urandom-read', 'null-write']);
  assert.match(r.stderr, /Operation not permitted/);
  assert.equal(existsSync(join(UNIFIED, prefix, 'run')), false, 'the cgroup is gone with the container');
});

test('v2-only view: update with new device rules swaps the program, and the new rules hold', { skip }, () => {
  const b = bundle(['sleep', '600'], 'upd');
  const id = `${prefix}-upd`;
  rt.ok(['run', '-d', '--bundle', b.dir, id]);
  const dir = join(UNIFIED, prefix, 'upd');
  const pid = JSON.parse(rt.ok(['state', id])).pid as number;
  const unifiedLine = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  assert.equal(unifiedLine, `0::/${prefix}/upd`, 'the container is in the v2 cgroup');
  const before = bpftoolShow(dir);
  assert.deepEqual(before.map((p) => p.name), ['berth_devices']);
  assert.match(before[0]!.attach_type, /device/);
  assert.deepEqual(rt.ok(['exec', id, 'sh', '-c', PROBE]).trim().split('\n'), ['disk-denied', 'zero-read', 'urandom-read', 'null-write']);

  // The new rules replace the config's (runc's defaults follow them, as at create): the disk
  // becomes readable, then an empty list takes that back.
  const { major, minor } = disk;
  let previous = before[0]!.id;
  for (const [devices, diskLine] of [[[{ allow: true, type: 'b', major, minor, access: 'r' }], 'disk-read'], [[], 'disk-denied']] as const) {
    rt.ok(['update', '-r', '-', id], { input: JSON.stringify({ devices }) });
    const now = bpftoolShow(dir);
    assert.equal(now.length, 1, `exactly one device program: ${JSON.stringify(now)}`);
    assert.equal(now[0]!.name, 'berth_devices');
    assert.notEqual(now[0]!.id, previous, 'a new program took the old one\'s place');
    previous = now[0]!.id;
    assert.deepEqual(rt.ok(['exec', id, 'sh', '-c', PROBE]).trim().split('\n'), [diskLine, 'zero-read', 'urandom-read', 'null-write']);
  }
  assert.equal(JSON.parse(rt.ok(['state', id])).status, 'running');

  rt.ok(['delete', '--force', id]);
  assert.equal(existsSync(dir), false);
});

test('v2-only view: a device rule the kernel cannot take fails create and leaves nothing', { skip }, () => {
  const b = bundle(['true'], 'bad', (s) => (s.linux!.resources = { devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwx' }] }));
  const r = rt.run(['create', '--bundle', b.dir, `${prefix}-bad`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /linux\.resources\.devices\[0\]\.access/);
  assert.equal(existsSync(join(UNIFIED, prefix, 'bad')), false);
  assert.ok(!JSON.parse(rt.ok(['list', '--format', 'json'])).some((c: { id: string }) => c.id === `${prefix}-bad`));
});
