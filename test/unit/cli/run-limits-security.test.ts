// berth run's limit and privilege flags -> OCI resources, rlimits, capabilities, devices, groups,
// against docker's documented behaviour (docker run reference: resource constraints, runtime privilege).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyLimits, parseCpuList, parseUlimit, processLimitsFromFlags, resourcesFromFlags, RLIM_INFINITY_JSON } from '../../../src/cli/berth/run-limits.ts';
import { allCapabilities, applyGroups, applySecurity, groupIds, normalizeCapability, parseDeviceFlag, requestDevices, tweakCapabilities, type HostDevice } from '../../../src/cli/berth/run-security.ts';
import { withFlagName } from '../../../src/cli/berth/run-options.ts';
import { imageContainerBaseSpec, DEFAULT_CONTAINER_CAPABILITIES } from '../../../src/runtime/default-spec.ts';
import { CAPABILITY_NUMBERS } from '../../../src/runtime/capabilities.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const host = { cpus: new Set([0, 1]), mems: new Set([0]) };
const failsNaming = (fn: () => unknown, flag: string, text: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument' && e.where.field === flag && text.test(e.message) && !e.message.includes('\n'), `${flag} ${text}`);
};
const MiB = 1024 * 1024;

test('memory: --memory, swap twice it by default, -1 unlimited, reservation', () => {
  assert.deepEqual(resourcesFromFlags({ memory: '64m' }, host), { memory: { limit: 64 * MiB, swap: 128 * MiB } });
  assert.deepEqual(resourcesFromFlags({ memory: '1g', 'memory-swap': '-1', 'memory-reservation': '512m' }, host), { memory: { limit: 1024 * MiB, swap: -1, reservation: 512 * MiB } });
  assert.deepEqual(resourcesFromFlags({ memory: '64m', 'memory-swap': '64m' }, host), { memory: { limit: 64 * MiB, swap: 64 * MiB } });
  assert.deepEqual(resourcesFromFlags({ 'memory-reservation': '10m' }, host), { memory: { reservation: 10 * MiB } });
  failsNaming(() => resourcesFromFlags({ memory: '1x' }, host), '--memory', /"1x" is not a size/);
  failsNaming(() => resourcesFromFlags({ memory: '4m' }, host), '--memory', /minimum is 6m/);
  failsNaming(() => resourcesFromFlags({ 'memory-swap': '1g' }, host), '--memory-swap', /needs --memory/);
  failsNaming(() => resourcesFromFlags({ memory: '1g', 'memory-swap': '512m' }, host), '--memory-swap', /at least --memory/);
  failsNaming(() => resourcesFromFlags({ memory: '64m', 'memory-reservation': '128m' }, host), '--memory-reservation', /at most --memory/);
});

test('update: checks between limits apply to what the container will have; no default swap', () => {
  const current = { memory: { limit: 64 * MiB, swap: 128 * MiB } };
  assert.deepEqual(resourcesFromFlags({ memory: '100m' }, host, current, 'update'), { memory: { limit: 100 * MiB } });
  failsNaming(() => resourcesFromFlags({ memory: '256m' }, host, current, 'update'), '--memory-swap', /at least --memory/);
  assert.deepEqual(resourcesFromFlags({ memory: '256m', 'memory-swap': '512m' }, host, current, 'update'), { memory: { limit: 256 * MiB, swap: 512 * MiB } });
  assert.deepEqual(resourcesFromFlags({ 'memory-swap': '512m' }, host, current, 'update'), { memory: { swap: 512 * MiB } });
  assert.deepEqual(resourcesFromFlags({ 'pids-limit': '0' }, host, {}, 'update'), { pids: { limit: -1 } });
});

test('cpu: --cpus as quota per 100 ms period, conflicting with --cpu-quota/--cpu-period; shares; cpusets of this host', () => {
  assert.deepEqual(resourcesFromFlags({ cpus: '1.5' }, host), { cpu: { period: 100000, quota: 150000 } });
  assert.deepEqual(resourcesFromFlags({ cpus: '0.01' }, host), { cpu: { period: 100000, quota: 1000 } });
  assert.deepEqual(resourcesFromFlags({ 'cpu-quota': '50000', 'cpu-period': '200000', 'cpu-shares': '512' }, host), { cpu: { quota: 50000, period: 200000, shares: 512 } });
  assert.deepEqual(resourcesFromFlags({ 'cpuset-cpus': '0-1', 'cpuset-mems': '0' }, host), { cpu: { cpus: '0-1', mems: '0' } });
  failsNaming(() => resourcesFromFlags({ cpus: '3' }, host), '--cpus', /0.01 to 2/);
  failsNaming(() => resourcesFromFlags({ cpus: 'two' }, host), '--cpus', /expected/);
  failsNaming(() => resourcesFromFlags({ cpus: '1', 'cpu-period': '100000' }, host), '--cpus', /conflicts/);
  failsNaming(() => resourcesFromFlags({ 'cpu-quota': '999' }, host), '--cpu-quota', /at least 1000/);
  failsNaming(() => resourcesFromFlags({ 'cpu-period': '500' }, host), '--cpu-period', /1000 to 1000000/);
  failsNaming(() => resourcesFromFlags({ 'cpu-shares': 'many' }, host), '--cpu-shares', /whole number/);
  failsNaming(() => resourcesFromFlags({ 'cpuset-cpus': '0,3' }, host), '--cpuset-cpus', /CPU 3 not available \(this machine has 0,1\)/);
  failsNaming(() => resourcesFromFlags({ 'cpuset-mems': '1' }, host), '--cpuset-mems', /memory node 1 not available/);
  failsNaming(() => resourcesFromFlags({ 'cpuset-cpus': '1-0' }, host), '--cpuset-cpus', /expected a list/);
  assert.deepEqual(parseCpuList('x', '0-2,4,2'), [0, 1, 2, 4]);
});

test('pids: a positive limit, 0 and -1 mean none (nothing written at run)', () => {
  assert.deepEqual(resourcesFromFlags({ 'pids-limit': '100' }, host), { pids: { limit: 100 } });
  assert.deepEqual(resourcesFromFlags({ 'pids-limit': '-1' }, host), {});
  assert.deepEqual(resourcesFromFlags({ 'pids-limit': '0' }, host), {});
  failsNaming(() => resourcesFromFlags({ 'pids-limit': '-2' }, host), '--pids-limit', /whole number/);
});

test('--ulimit NAME=SOFT[:HARD], -1 or unlimited; --oom-score-adj in range', () => {
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 });
  assert.deepEqual(parseUlimit('nproc=50'), { type: 'RLIMIT_NPROC', soft: 50, hard: 50 });
  assert.deepEqual(parseUlimit('core=-1'), { type: 'RLIMIT_CORE', soft: RLIM_INFINITY_JSON, hard: RLIM_INFINITY_JSON });
  assert.deepEqual(parseUlimit('memlock=0:unlimited'), { type: 'RLIMIT_MEMLOCK', soft: 0, hard: RLIM_INFINITY_JSON });
  failsNaming(() => parseUlimit('files=1'), '--ulimit', /unknown limit "files" \(one of cpu, fsize/);
  failsNaming(() => parseUlimit('nofile=2:1'), '--ulimit', /soft limit must not be above the hard/);
  failsNaming(() => parseUlimit('nofile'), '--ulimit', /NAME=SOFT/);
  failsNaming(() => parseUlimit('nofile=lots'), '--ulimit', /not a number/);
  failsNaming(() => processLimitsFromFlags({ ulimit: ['nofile=1', 'nofile=2'] }), '--ulimit', /given twice/);
  assert.deepEqual(processLimitsFromFlags({ 'oom-score-adj': '-500' }), { rlimits: [], oomScoreAdj: -500 });
  failsNaming(() => processLimitsFromFlags({ 'oom-score-adj': '1001' }), '--oom-score-adj', /-1000 to 1000/);
});

test('applyLimits: resources merged, a --ulimit replacing the base rlimit of its type', () => {
  const spec = imageContainerBaseSpec();
  applyLimits(spec, { memory: { limit: 10 * MiB } }, { rlimits: [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }], oomScoreAdj: 300 });
  assert.deepEqual(spec.linux!.resources!.memory, { limit: 10 * MiB });
  assert.deepEqual(spec.linux!.resources!.devices, [{ allow: false, access: 'rwm' }], 'the default device rule stays');
  assert.deepEqual(spec.process!.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }]);
  assert.equal(spec.process!.oomScoreAdj, 300);
});

test('capabilities: names in any case with or without CAP_, ALL, as moby\'s TweakCapabilities', () => {
  const all = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN'];
  const basics = ['CAP_CHOWN', 'CAP_KILL'];
  assert.equal(normalizeCapability('--cap-add', 'net_admin'), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability('--cap-add', 'Cap_Sys_Admin'), 'CAP_SYS_ADMIN');
  assert.deepEqual(tweakCapabilities(basics, ['NET_ADMIN'], ['kill'], all), ['CAP_CHOWN', 'CAP_NET_ADMIN']);
  assert.deepEqual(tweakCapabilities(basics, ['all'], ['SYS_ADMIN'], all), ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_ADMIN']);
  assert.deepEqual(tweakCapabilities(basics, ['NET_ADMIN'], ['ALL'], all), ['CAP_NET_ADMIN']);
  assert.deepEqual(tweakCapabilities(basics, [], ['ALL'], all), []);
  failsNaming(() => tweakCapabilities(basics, ['CAP_FLY'], [], all), '--cap-add', /"CAP_FLY": unknown capability/);
  failsNaming(() => tweakCapabilities(basics, [], ['teleport'], all), '--cap-drop', /unknown capability/);
  // "All" is what the runtime holds: a bounding set without CAP_SYS_RESOURCE (24) leaves it out.
  const bounding = (1n << 41n) - 1n - (1n << 24n);
  assert.ok(!allCapabilities(bounding).includes('CAP_SYS_RESOURCE'));
  assert.equal(allCapabilities(bounding).length, Object.values(CAPABILITY_NUMBERS).filter((n) => n <= 40).length - 1);
});

test('applySecurity: caps on every set, ambient and inheritable kept within them', () => {
  const spec = imageContainerBaseSpec();
  spec.process!.capabilities!.ambient = ['CAP_KILL', 'CAP_CHOWN'];
  applySecurity(spec, { capAdd: ['NET_ADMIN'], capDrop: ['CHOWN', 'MKNOD'] }, (1n << 41n) - 1n);
  const caps = spec.process!.capabilities!;
  const want = [...DEFAULT_CONTAINER_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN' && c !== 'CAP_MKNOD'), 'CAP_NET_ADMIN'];
  assert.deepEqual(caps.bounding, want);
  assert.deepEqual(caps.effective, want);
  assert.deepEqual(caps.permitted, want);
  assert.deepEqual(caps.ambient, ['CAP_KILL']);
  const untouched = imageContainerBaseSpec();
  applySecurity(untouched, {}, (1n << 41n) - 1n);
  assert.deepEqual(untouched, imageContainerBaseSpec(), 'no flags: no change');
});

const sda: HostDevice = { path: '/dev/sda', type: 'b', major: 8, minor: 0, mode: 0o660, uid: 0, gid: 6 };
const fuse: HostDevice = { path: '/dev/fuse', type: 'c', major: 10, minor: 229, mode: 0o666, uid: 0, gid: 0 };

test('--device HOST[:CONTAINER][:PERMISSIONS]: a node and an allow rule with its permissions', () => {
  assert.deepEqual(parseDeviceFlag('/dev/sda'), { host: '/dev/sda', container: '/dev/sda', permissions: 'rwm' });
  assert.deepEqual(parseDeviceFlag('/dev/sda:/dev/xvdc'), { host: '/dev/sda', container: '/dev/xvdc', permissions: 'rwm' });
  assert.deepEqual(parseDeviceFlag('/dev/sda:r'), { host: '/dev/sda', container: '/dev/sda', permissions: 'r' });
  assert.deepEqual(parseDeviceFlag('/dev/sda:/dev/xvdc:rw'), { host: '/dev/sda', container: '/dev/xvdc', permissions: 'rw' });
  failsNaming(() => parseDeviceFlag('/dev/sda:/dev/x:rx'), '--device', /permissions "rx"/);
  failsNaming(() => parseDeviceFlag('/dev/sda:/dev/x:rr'), '--device', /permissions "rr"/);
  failsNaming(() => parseDeviceFlag('sda'), '--device', /absolute/);
  failsNaming(() => parseDeviceFlag('/dev/sda:/dev/../x'), '--device', /\.\./);
  // A directory maps every node below it.
  assert.deepEqual(requestDevices({ host: '/dev/snd', container: '/dev/audio', permissions: 'rw' }, [{ ...fuse, path: '/dev/snd/pcm0' }]).map((d) => d.device.path), ['/dev/audio/pcm0']);
  const spec = imageContainerBaseSpec();
  applySecurity(spec, { devices: [{ request: parseDeviceFlag('/dev/sda:/dev/xvdc:r'), found: [sda] }] }, (1n << 41n) - 1n);
  assert.deepEqual(spec.linux!.devices, [{ type: 'b', path: '/dev/xvdc', major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6 }]);
  assert.deepEqual(spec.linux!.resources!.devices, [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }]);
});

test('--privileged: all caps, host devices, every device allowed, nothing masked, /sys and cgroups writable', () => {
  const spec = imageContainerBaseSpec();
  const bounding = (1n << 41n) - 1n;
  applySecurity(spec, { privileged: true, hostDevices: [sda, fuse] }, bounding);
  assert.deepEqual(spec.process!.capabilities!.bounding, allCapabilities(bounding));
  assert.deepEqual(spec.linux!.devices!.map((d) => d.path), ['/dev/sda', '/dev/fuse']);
  assert.deepEqual(spec.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
  assert.deepEqual(spec.linux!.maskedPaths, []);
  assert.deepEqual(spec.linux!.readonlyPaths, []);
  for (const m of spec.mounts!.filter((m) => m.type === 'sysfs' || m.type === 'cgroup')) assert.ok(!m.options!.includes('ro'), m.destination);
  // --cap-drop still applies on top of --privileged, as docker.
  const dropped = imageContainerBaseSpec();
  applySecurity(dropped, { privileged: true, capDrop: ['SYS_ADMIN'] }, bounding);
  assert.ok(!dropped.process!.capabilities!.bounding!.includes('CAP_SYS_ADMIN'));
});

test('--group-add: gids and the image\'s group names on top of the user\'s own groups', () => {
  const groups = [{ name: 'staff', gid: 50, members: [] }, { name: 'audio', gid: 29, members: [] }];
  assert.deepEqual(groupIds(['777', 'staff', 'audio'], groups), [777, 50, 29]);
  failsNaming(() => groupIds(['wheel'], groups), '--group-add', /no such group/);
  failsNaming(() => groupIds(['wheel'], undefined), '--group-add', /no such group/);
  const spec = imageContainerBaseSpec();
  spec.process!.user = { uid: 1000, gid: 1000, additionalGids: [50] };
  applyGroups(spec, [50, 777]);
  assert.deepEqual(spec.process!.user.additionalGids, [50, 777]);
});

test('a runtime refusal about a field a flag set is said with the flag first; others unchanged', () => {
  const refused = new BerthError('permission-denied', 'process.oomScoreAdj: setting -500 was refused (lowering it needs CAP_SYS_RESOURCE)', { field: 'process.oomScoreAdj', errno: 'EACCES' });
  const named = withFlagName(refused, { 'oom-score-adj': '-500' }) as BerthError;
  assert.equal(named.kind, 'permission-denied');
  assert.equal(named.where.field, '--oom-score-adj');
  assert.match(named.message, /^--oom-score-adj -500: process.oomScoreAdj: setting -500 was refused .*EACCES/);
  assert.equal(withFlagName(refused, {}), refused, 'not given: not blamed');
  const rlimit = new BerthError('permission-denied', 'setrlimit', { field: 'process.rlimits[0]' });
  assert.match((withFlagName(rlimit, { ulimit: ['nofile=1:2'] }) as Error).message, /^--ulimit nofile=1:2: /);
  assert.equal(withFlagName(rlimit, { ulimit: [] }), rlimit);
});
