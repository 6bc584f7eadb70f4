import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMountOptions } from '../../../src/runtime/mount-options.ts';
import { MOUNT_ATTR, MS } from '../../../src/sys/kernel-constants.ts';
import { resolveSignal } from '../../../src/runtime/signals.ts';
import { parseProcStat } from '../../../src/sys/proc.ts';
import { cgroupLayoutFromMountinfo, mountHolding } from '../../../src/runtime/host-facts.ts';
import { parseMountinfo } from '../../../src/runtime/cgroups/index.ts';
import { mountsBelow } from '../../../src/runtime/unmount-below.ts';
import { compileExecPlan } from '../../../src/runtime/exec-plan.ts';
import { hostFacts, specWith } from './helpers.ts';
import { formatIdMap } from '../../../src/runtime/id-mappings.ts';
import { parseArgs } from '../../../src/cli/argv.ts';
import { parseMessage } from '../../../src/sys/berth-spawn.ts';
import { validateId } from '../../../src/runtime/state-store.ts';

test('mount options: flags set and cleared in order, data kept, recursive attributes', () => {
  const o = parseMountOptions(['ro', 'nosuid', 'rw', 'noexec', 'size=64k', 'mode=755', 'rslave', 'rro', 'rnoatime'], 'm');
  assert.equal(o.flags, MS.NOSUID | MS.NOEXEC);
  assert.deepEqual(o.data, ['size=64k', 'mode=755']);
  assert.deepEqual(o.propagation, [MS.SLAVE | MS.REC]);
  assert.deepEqual(o.recursive, { set: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOATIME, clear: MOUNT_ATTR.ATIME_MASK }, 'an atime change clears the whole atime field, as mount_setattr requires');
  assert.equal(parseMountOptions(['rbind'], 'm').bind, true);
  // The runtime-spec's MUST options that are flags, not filesystem data (tmpfs refuses them as data).
  assert.equal(parseMountOptions(['lazytime', 'iversion', 'silent'], 'm').flags, MS.LAZYTIME | MS.I_VERSION | MS.SILENT);
  const cleared = parseMountOptions(['lazytime', 'iversion', 'silent', 'nolazytime', 'noiversion', 'loud'], 'm');
  assert.deepEqual([cleared.flags, cleared.data], [0, []]);
  assert.throws(() => parseMountOptions(['idmap'], 'mounts[3].options'), /mounts\[3\]\.options\[0\]/);
});

test('signals by name, SIG name and number', () => {
  assert.equal(resolveSignal('KILL'), 9);
  assert.equal(resolveSignal('sigterm'), 15);
  assert.equal(resolveSignal('10'), 10);
  assert.equal(resolveSignal('0'), 0);
  assert.equal(resolveSignal('RTMIN+2'), 36);
  assert.throws(() => resolveSignal('NOPE'), /unknown signal/);
  assert.throws(() => resolveSignal('99'), /unknown signal/);
});

test('proc stat: the command name may hold spaces and parentheses', () => {
  const s = parseProcStat('42 (a b) c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615');
  assert.deepEqual(s, { state: 'S', startTime: 987654 });
});

test('cgroup layout from mountinfo: v1 hybrid is v1, pure unified is v2', () => {
  const v1 = [
    '30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
    '31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
    '32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
    '33 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
  ].join('\n');
  assert.deepEqual(cgroupLayoutFromMountinfo(v1), { version: 1, hierarchies: [{ dir: 'cpu', options: 'cpu' }, { dir: 'systemd', options: 'name=systemd' }] });
  assert.deepEqual(cgroupLayoutFromMountinfo('30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate'), { version: 2 });
});

test('the mount holding a path: longest mount point, the later of two on one point, and its sharing', () => {
  const entries = parseMountinfo([
    '22 1 254:0 / / rw shared:1 - ext4 /dev/vda rw',
    '40 22 0:50 / /var/lib/berth rw - tmpfs tmpfs rw',
    '41 40 0:51 / /var/lib/berth/c/rootfs rw shared:7 - overlay overlay rw',
    '42 40 0:52 / /var/lib/berth/c/rootfs rw master:3 - overlay overlay rw',
    '43 42 0:53 / /var/lib/berth/c/rootfs/proc rw - proc proc rw',
  ].join('\n'));
  assert.deepEqual(mountHolding(entries, '/var/lib/berth/c/rootfs'), { mountpoint: '/var/lib/berth/c/rootfs', shared: false });
  assert.deepEqual(mountHolding(entries, '/var/lib/berth/other'), { mountpoint: '/var/lib/berth', shared: false });
  assert.deepEqual(mountHolding(entries, '/var/lib/berthx'), { mountpoint: '/', shared: true });
  assert.deepEqual(mountsBelow(entries, '/var/lib/berth/c/rootfs/').map((e) => e.id), [43]);
  assert.deepEqual(mountsBelow(entries, '/var/lib/berth').map((e) => e.id), [43, 42, 41]);
});

test('exec into a container without a mount namespace takes init\'s root', () => {
  const proc = specWith().process!;
  const plan = compileExecPlan({ pid: 42, namespaces: ['pid', 'uts'], process: proc, host: hostFacts() });
  assert.deepEqual(plan.find((o) => o.kind === 'chroot'), { kind: 'chroot', path: '/proc/42/root', origin: 'root.path' });
  assert.ok(!compileExecPlan({ pid: 42, namespaces: ['mount'], process: proc, host: hostFacts() }).some((o) => o.kind === 'chroot'));
});

test('id maps are written one line per mapping', () => {
  assert.equal(formatIdMap([{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }]), '0 1000 1\n1 100000 65536\n');
});

test('argv: long, single-dash, = and short forms; -- ends flags', () => {
  const flags = [
    { name: 'bundle', alias: 'b', kind: 'string' as const, help: '' },
    { name: 'detach', alias: 'd', kind: 'bool' as const, help: '' },
    { name: 'preserve-fds', kind: 'int' as const, help: '' },
  ];
  assert.deepEqual(parseArgs(['-b', '/x', '--detach', '--preserve-fds=2', 'id'], flags), { flags: { bundle: '/x', detach: true, 'preserve-fds': 2 }, positionals: ['id'] });
  assert.deepEqual(parseArgs(['-bundle', '/y', '--', '-d'], flags).positionals, ['-d']);
  assert.throws(() => parseArgs(['--nope'], flags), /unknown flag --nope/);
  assert.throws(() => parseArgs(['--preserve-fds', 'x'], flags), /not a number/);
  assert.throws(() => parseArgs(['--bundle'], flags), /needs a value/);
});

test('argv: bundled short flags as docker takes them (-it, -dit, -db value)', () => {
  const flags = [
    { name: 'interactive', alias: 'i', kind: 'bool' as const, help: '' },
    { name: 'tty', alias: 't', kind: 'bool' as const, help: '' },
    { name: 'detach', alias: 'd', kind: 'bool' as const, help: '' },
    { name: 'bundle', alias: 'b', kind: 'string' as const, help: '' },
    { name: 'env', alias: 'e', kind: 'list' as const, help: '' },
  ];
  assert.deepEqual(parseArgs(['-it', 'img'], flags).flags, { interactive: true, tty: true, env: [] });
  assert.deepEqual(parseArgs(['-dit', 'img'], flags).flags, { detach: true, interactive: true, tty: true, env: [] });
  assert.deepEqual(parseArgs(['-db', '/x', 'img'], flags), { flags: { detach: true, bundle: '/x', env: [] }, positionals: ['img'] });
  // A value-taking letter first is docker's attached value, not a bundle.
  assert.deepEqual(parseArgs(['-eit'], flags).flags.env, ['it']);
  assert.deepEqual(parseArgs(['-bd', 'x'], flags), { flags: { bundle: 'd', env: [] }, positionals: ['x'] });
  assert.throws(() => parseArgs(['-ix'], flags), /unknown flag -ix/);
});

test('berth-spawn channel messages', () => {
  assert.deepEqual(parseMessage('pid 123'), { type: 'pid', pid: 123 });
  assert.deepEqual(parseMessage('sync create-runtime'), { type: 'sync', point: 'create-runtime' });
  assert.deepEqual(parseMessage('error 7 2 mount x on /y'), { type: 'error', index: 7, errno: 2, text: 'mount x on /y' });
  assert.equal(parseMessage('garbage').type, 'error');
});

test('container ids as runc allows them', () => {
  for (const ok of ['a', 'web-1', 'x_y.z+1']) validateId(ok);
  for (const bad of ['', '..', 'a/b', 'a b', '../x']) assert.throws(() => validateId(bad), /invalid container id/);
});

test('HOME from the container passwd', async () => {
  const { homeFromPasswd } = await import('../../../src/runtime/container-home.ts');
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nweird\nu:x:1000:1000::/home/u:/bin/sh\nnohome:x:5:5:::/bin/sh\n';
  assert.equal(homeFromPasswd(passwd, 0), '/root');
  assert.equal(homeFromPasswd(passwd, 1000), '/home/u');
  assert.equal(homeFromPasswd(passwd, 5), undefined);
  assert.equal(homeFromPasswd(undefined, 0), undefined);
});

test('sysctls: namespaced only, values that cannot reach another setting', async () => {
  const { planSysctls } = await import('../../../src/runtime/sysctl.ts');
  assert.deepEqual(planSysctls({ 'net.ipv4.ip_forward': '1', 'kernel/shmmax': '65536' }, ['network', 'ipc']), [
    { key: 'net.ipv4.ip_forward', path: '/proc/sys/net/ipv4/ip_forward', value: '1' },
    { key: 'kernel.shmmax', path: '/proc/sys/kernel/shmmax', value: '65536' },
  ]);
  assert.throws(() => planSysctls({ 'kernel.core_pattern': 'x' }, ['ipc']), /not namespaced/);
  assert.throws(() => planSysctls({ 'net.ipv4.ip_forward': '1' }, ['ipc']), /own network namespace/);
  assert.throws(() => planSysctls({ 'kernel.shm_rmid_forced': '1+kernel.core_pattern=|/x' }, ['ipc']), /has characters/);
  assert.throws(() => planSysctls({ 'net.ipv4..x': '1' }, ['network']), /is not a sysctl name/);
  assert.throws(() => planSysctls({ 'net/../../kernel/core_pattern': '1' }, ['network']), /is not a sysctl name/);
});

test('exec process from flags over the container process', async () => {
  const { processFromFlags } = await import('../../../src/runtime/exec-process.ts');
  const base = { user: { uid: 0, gid: 0 }, cwd: '/', args: ['sleep'], env: ['PATH=/bin', 'A=1'], terminal: true, capabilities: { bounding: ['CAP_KILL'] } };
  const p = processFromFlags(base, { args: ['sh'], env: ['A=2', 'B=3'], user: '5:6', additionalGids: ['7'], caps: ['CAP_CHOWN'], cwd: '/tmp' });
  assert.deepEqual(p.args, ['sh']);
  assert.equal(p.terminal, false);
  assert.deepEqual(p.env, ['PATH=/bin', 'A=2', 'B=3']);
  assert.deepEqual(p.user, { uid: 5, gid: 6, additionalGids: [7] });
  assert.deepEqual(p.capabilities!.bounding, ['CAP_KILL', 'CAP_CHOWN']);
  assert.equal(p.cwd, '/tmp');
  assert.throws(() => processFromFlags(base, { args: [] }), /give a command/);
  assert.throws(() => processFromFlags(base, { args: ['x'], user: 'root' }), /--user/);
});

test('update flags become resources; sizes with units', async () => {
  const { resourcesFromFlags, parseBytes, mergeResources } = await import('../../../src/runtime/update-resources.ts');
  assert.equal(parseBytes('512m', 'x'), 512 * 1024 * 1024);
  assert.equal(parseBytes('1g', 'x'), 1024 ** 3);
  assert.equal(parseBytes('-1', 'x'), -1);
  assert.throws(() => parseBytes('lots', '--memory'), /--memory/);
  assert.deepEqual(resourcesFromFlags({ memory: '1k', 'pids-limit': '10', 'cpu-shares': '2', root: '/run/x' }), { memory: { limit: 1024 }, cpu: { shares: 2 }, pids: { limit: 10 } });
  assert.deepEqual(mergeResources({ memory: { limit: 1, swap: 2 } }, { memory: { limit: 5 } }), { memory: { limit: 5, swap: 2 } });
});

test('ps output is filtered to the container pids', async () => {
  const { filterPsOutput } = await import('../../../src/cli/berth-runtime/ps-table.ts');
  const out = 'UID PID PPID CMD\nroot 10 1 a\nroot 11 1 b\nroot 12 11 c\n';
  assert.equal(filterPsOutput(out, [10, 12]), 'UID PID PPID CMD\nroot 10 1 a\nroot 12 11 c\n');
});
