// berth run's storage, limit and privilege flags against the kernel state they must produce
// (mountinfo, cgroup v1 files, /proc/self/status and limits, device nodes), berth update on a
// running container, the volume lifecycle, and bad values failing before anything is made.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, testLayers, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { berthIn, repoRoot, runCli } from '../../support/cli.ts';

let work: string;
let root: string;
const berthBin = join(repoRoot, 'bin/berth');
const { berth, ok } = berthIn(() => root);
const T = 1700000000;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-test-runopts-'));
  root = join(work, 'store');
  // The test image with VOLUME /data (its content: "new", from the layers).
  writeOciLayout(buildImage({ cmd: ['sh'], volumes: ['/data'] }), join(work, 'plain'), 'plain');
  // A hostile image: /data is a symlink to /etc, /esc climbs above the root, /vol is a real directory.
  const hostile = testLayers();
  hostile.push([
    { name: 'data', type: 'symlink', linkname: '/etc', mtime: T },
    { name: 'esc', type: 'symlink', linkname: '../../../../../../..', mtime: T },
    { name: 'escdir', type: 'symlink', linkname: '../../../../../../../etc', mtime: T },
  ]);
  hostile[1] = hostile[1]!.filter((e) => !e.name.startsWith('data/'));
  hostile[0] = hostile[0]!.filter((e) => !e.name.startsWith('data'));
  writeOciLayout(buildImage({ cmd: ['sh'], layers: hostile }), join(work, 'hostile'), 'hostile');
  ok('load', '-i', join(work, 'plain'));
  ok('load', '-i', join(work, 'hostile'));
});

after(() => {
  const containers = join(root, 'containers');
  for (const id of existsSync(containers) ? readdirSync(containers) : []) runCli(berthBin, ['--root', root, 'rm', '--force', '--volumes', id]);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(work)) execFileSync('umount', ['-l', mp]);
  }
  rmSync(work, { recursive: true, force: true });
});

const containers = (): string[] => (existsSync(join(root, 'containers')) ? readdirSync(join(root, 'containers')) : []);
const volumes = (): string[] => ok('volume', 'ls', '-q').split('\n').filter(Boolean);
/** The line of the container's mountinfo for mount point `mp`. */
const mountLine = (mountinfo: string, mp: string): string => mountinfo.split('\n').find((l) => l.split(' ')[4] === mp) ?? '';

test('-v HOST:CTR:ro through a symlinked source, --tmpfs with a size, --read-only, --shm-size', () => {
  const host = join(work, 'src');
  mkdirSync(host);
  writeFileSync(join(host, 'f'), 'from the host\n');
  symlinkSync(host, join(work, 'link'));
  const out = ok('run', '--rm', '-v', `${join(work, 'link')}:/app:ro`, '--tmpfs', '/scratch:size=1m,mode=700', '--read-only', '--shm-size', '2m', 'loaded:plain', 'sh', '-c',
    'cat /app/f; cat /proc/self/mountinfo; touch /app/x 2>/dev/null && echo app-writable; touch /x 2>/dev/null && echo root-writable; touch /scratch/x && echo scratch-writable');
  assert.match(out, /^from the host\n/);
  const app = mountLine(out, '/app');
  // The symlink was resolved once, on the host: the mount's root is the directory itself.
  assert.match(app, new RegExp(` ${host} /app ro[, ]`), app);
  assert.match(mountLine(out, '/scratch'), / rw,nosuid,nodev,noexec,.* - tmpfs tmpfs rw,size=1024k,mode=700/);
  assert.match(mountLine(out, '/dev/shm'), /size=2048k/);
  assert.match(mountLine(out, '/'), / \/ ro[, ]/);
  assert.doesNotMatch(out, /app-writable|root-writable/);
  assert.match(out, /scratch-writable/);
});

test('named volumes: made on first use, filled from the image once, kept; in use cannot be removed', () => {
  const first = ok('run', '--rm', '-v', 'appdata:/data', 'loaded:plain', 'sh', '-c', 'ls /data; echo mine > /data/mine');
  assert.equal(first.trim(), 'new', "the image's /data was copied into the empty volume");
  const again = ok('run', '--rm', '--mount', 'type=volume,source=appdata,target=/elsewhere', 'loaded:plain', 'sh', '-c', 'ls /elsewhere');
  assert.deepEqual(again.trim().split('\n'), ['mine', 'new'], 'not empty: not filled again');
  // The volume's own root takes the image directory's owner and mode (/home/app: 750, 1000:1000).
  assert.equal(ok('run', '--rm', '-v', 'home:/home/app', 'loaded:plain', 'stat', '-c', '%a %u:%g', '/home/app'), '750 1000:1000\n');
  ok('volume', 'rm', 'home');
  const nocopy = ok('run', '--rm', '-v', 'fresh:/data:nocopy', 'loaded:plain', 'ls', '-A', '/data');
  assert.equal(nocopy.trim(), '');
  const id = ok('run', '-d', '-v', 'appdata:/data', 'loaded:plain', 'sleep', '60').trim();
  const inspect = JSON.parse(ok('volume', 'inspect', 'appdata'));
  assert.equal(inspect[0].Name, 'appdata');
  assert.equal(inspect[0].Mountpoint, join(root, 'volumes/appdata/_data'));
  assert.deepEqual(inspect[0].UsedBy, [id]);
  const rm = berth('volume', 'rm', 'appdata');
  assert.notEqual(rm.code, 0);
  assert.match(rm.stderr, /volume "appdata" is in use by container/);
  ok('rm', '-f', id);
  assert.deepEqual(readdirSync(join(root, 'volumes/appdata/users')), [id], 'a pin outlives its container...');
  assert.deepEqual(JSON.parse(ok('volume', 'inspect', 'appdata'))[0].UsedBy, []);
  assert.deepEqual(readdirSync(join(root, 'volumes/appdata/users')), [], '...until it is seen stale');
  assert.deepEqual(volumes().sort(), ['appdata', 'fresh']);
  ok('volume', 'rm', 'appdata', 'fresh');
  assert.deepEqual(volumes(), []);
  assert.equal(existsSync(join(root, 'volumes/appdata')), false);
});

test("the image's VOLUMEs are anonymous volumes: filled, removed with rm -v and --rm, kept by plain rm, pruned", () => {
  const out = ok('run', '--rm', 'loaded:plain', 'sh', '-c', 'ls /data; grep " /data " /proc/self/mountinfo');
  assert.match(out, /^new\n/);
  assert.match(out, /\/volumes\/[0-9a-f]{64}\/_data \/data /);
  assert.deepEqual(volumes(), [], '--rm took it');
  const kept = ok('run', 'loaded:plain', 'true');
  void kept;
  const [first] = containers();
  assert.equal(volumes().length, 1);
  ok('rm', first!);
  assert.equal(volumes().length, 1, 'rm without -v keeps it');
  ok('volume', 'create', 'named');
  ok('volume', 'prune');
  assert.deepEqual(volumes(), ['named'], 'prune: the unused anonymous one, not the named one');
  ok('run', 'loaded:plain', 'true');
  const [second] = containers();
  ok('rm', '-v', second!);
  assert.deepEqual(volumes(), ['named']);
  ok('volume', 'prune', '--all');
  assert.deepEqual(volumes(), []);
  // run -d --rm: the monitor's exit command removes the container and its anonymous volume.
  const id = ok('run', '-d', '--rm', 'loaded:plain', 'true').trim();
  const deadline = Date.now() + 20_000;
  while (containers().includes(id) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  assert.deepEqual(containers(), []);
  assert.deepEqual(volumes(), []);
});

test('a hostile image: a target through a symlink stays inside the rootfs; a climbing one is clamped or refused', () => {
  const hostDir = join(work, 'hostile-src');
  mkdirSync(hostDir);
  writeFileSync(join(hostDir, 'marker'), 'bound\n');
  const etcBefore = readdirSync('/etc').sort();
  const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8');
  // /data -> /etc: the bind lands on the container's own /etc.
  const out = ok('run', '--rm', '-v', `${hostDir}:/data`, 'loaded:hostile', 'sh', '-c', 'cat /etc/marker; ls /etc');
  // As docker's: the container's /etc/hostname, hosts and resolv.conf are mounted over it too.
  assert.deepEqual(out.trim().split('\n'), ['bound', 'hostname', 'hosts', 'marker', 'resolv.conf']);
  // A volume there is filled from the image's /etc (resolved inside the rootfs), never the host's.
  const filled = ok('run', '--rm', '-v', 'evil:/data', 'loaded:hostile', 'ls', '/etc');
  assert.deepEqual(filled.trim().split('\n').sort(), ['group', 'hostname', 'hosts', 'motd', 'motd-link', 'passwd', 'resolv.conf']);
  // The mount points of the network files are made in the volume mounted over /etc, as docker's.
  assert.deepEqual(readdirSync(join(root, 'volumes/evil/_data')).sort(), ['group', 'hostname', 'hosts', 'motd', 'motd-link', 'passwd', 'resolv.conf']);
  ok('volume', 'rm', 'evil');
  // Symlinks that climb above the root: a volume's copy-up refuses them, and nothing is made.
  for (const target of ['/esc', '/escdir']) {
    const esc = berth('run', '--rm', '-v', `evil2:${target}`, 'loaded:hostile', 'true');
    assert.notEqual(esc.code, 0);
    assert.match(esc.stderr, new RegExp(`--volume ${target}: .*leaves the image root`));
  }
  assert.deepEqual(volumes(), []);
  assert.deepEqual(containers(), []);
  // A bind through it is clamped at the container's root (RESOLVE_IN_ROOT): the host is untouched.
  const clamp = ok('run', '--rm', '-v', `${hostDir}:/esc/inner`, 'loaded:hostile', 'cat', '/inner/marker');
  assert.equal(clamp, 'bound\n');
  assert.deepEqual(readdirSync('/etc').sort(), etcBefore);
  assert.equal(existsSync('/inner'), false);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(hostDir)).length, 0);
  void hostMounts;
});

test('limits: cgroup v1 files, rlimits, oom_score_adj, as the container sees them', () => {
  const out = ok('run', '--rm', '-m', '64m', '--memory-reservation', '32m', '--cpus', '0.5', '--cpu-shares', '512', '--cpuset-cpus', '0', '--pids-limit', '42',
    '--ulimit', 'nofile=100:200', '--ulimit', 'nproc=500', '--oom-score-adj', '500', 'loaded:plain', 'sh', '-c',
    'cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes memory/memory.soft_limit_in_bytes cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpu/cpu.shares cpuset/cpuset.cpus pids/pids.max /proc/self/oom_score_adj; grep -E "open files|processes" /proc/self/limits');
  const lines = out.trim().split('\n');
  assert.deepEqual(lines.slice(0, 9), [String(64 << 20), String(128 << 20), String(32 << 20), '50000', '100000', '512', '0', '42', '500']);
  assert.match(lines.find((l) => l.startsWith('Max processes'))!, /\s500\s+500\s/);
  assert.match(lines.find((l) => l.startsWith('Max open files'))!, /\s100\s+200\s/);
});

test('what the kernel refuses without CAP_SYS_RESOURCE fails as runc does, naming the flag, leaving nothing', () => {
  const lacking = !(BigInt(`0x${/^CapEff:\s*(\w+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`) & (1n << 24n));
  if (!lacking) return; // with CAP_SYS_RESOURCE both are allowed: nothing to refuse
  const oom = berth('run', '--rm', '--oom-score-adj', '-500', 'loaded:plain', 'true');
  assert.equal(oom.code !== 0, true);
  assert.match(oom.stderr, /^berth: --oom-score-adj -500: .*needs CAP_SYS_RESOURCE/);
  const hard = berth('run', '--rm', '--ulimit', 'nofile=10:99999999', 'loaded:plain', 'true');
  assert.notEqual(hard.code, 0);
  assert.match(hard.stderr, /^berth: --ulimit nofile=10:99999999: .*EPERM/);
  assert.deepEqual(containers(), []);
});

test('security: caps, no-new-privileges, seccomp, devices, groups in /proc/self/status and /dev', () => {
  const status = (...flags: string[]): string => ok('run', '--rm', ...flags, 'loaded:plain', 'sh', '-c', 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp|Groups):" /proc/self/status');
  const caps = status('--cap-drop', 'ALL', '--cap-add', 'net_admin', '--cap-add', 'CAP_KILL', '--security-opt', 'no-new-privileges', '--group-add', 'staff', '--group-add', '4242');
  assert.match(caps, /CapEff:\s+0{12}1020\n/); // CAP_KILL (5) | CAP_NET_ADMIN (12)
  assert.match(caps, /CapBnd:\s+0{12}1020\n/);
  assert.match(caps, /NoNewPrivs:\s+1/);
  assert.match(caps, /Seccomp:\s+2/);
  assert.match(caps, /Groups:\s+50 4242\s*\n/);
  assert.match(status('--security-opt', 'seccomp=unconfined'), /Seccomp:\s+0/);
  const priv = status('--privileged');
  assert.match(priv, /Seccomp:\s+0/);
  const privMounts = ok('run', '--rm', '--privileged', 'loaded:plain', 'sh', '-c', 'cat /proc/self/mountinfo; ls /dev');
  assert.match(mountLine(privMounts, '/sys'), / \/sys rw,/, 'sysfs writable');
  assert.equal(mountLine(privMounts, '/proc/kcore'), '', 'nothing masked');
  assert.match(privMounts, /^loop-control$/m, "the host's devices");
  const own = /^CapBnd:\s*(\w+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
  assert.match(priv, new RegExp(`CapEff:\\s+${own}`));
  // /dev/loop-control (10:237) is not among the default devices (/dev/net/tun is): only what --device allows works.
  const tun = (...flags: string[]): string[] =>
    ok('run', '--rm', ...flags, 'loaded:plain', 'sh', '-c', 'stat -c "%F %t:%T" /dev/lc0 2>/dev/null || echo absent; (exec 3</dev/lc0) 2>/dev/null && echo read-ok; (exec 3<>/dev/lc0) 2>/dev/null && echo write-ok; true').trim().split('\n');
  assert.deepEqual(tun('--device', '/dev/loop-control:/dev/lc0:r'), ['character special file a:ed', 'read-ok']);
  assert.deepEqual(tun('--device', '/dev/loop-control:/dev/lc0'), ['character special file a:ed', 'read-ok', 'write-ok']);
  // Without it a node made with CAP_MKNOD exists but cannot be opened (the device cgroup).
  const made = ok('run', '--rm', 'loaded:plain', 'sh', '-c', 'mknod /dev/lc1 c 10 237 && (exec 3</dev/lc1) 2>/dev/null || echo open-refused');
  assert.equal(made.trim(), 'open-refused');
  const bad = berth('run', '--rm', '--group-add', 'wheel', 'loaded:plain', 'true');
  assert.match(bad.stderr, /--group-add "wheel": no such group in the image's \/etc\/group/);
  assert.deepEqual(containers(), []);
});

test('berth update: new limits on a running container; a stopped one is refused', () => {
  const id = ok('run', '-d', '-m', '64m', 'loaded:plain', 'sleep', '60').trim();
  const read = (): string[] => ok('exec', id, 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim().split('\n');
  assert.deepEqual(read(), [String(64 << 20), 'max', '-1']);
  ok('update', '--memory', '100m', '--pids-limit', '30', '--cpus', '1.5', id.slice(0, 12));
  assert.deepEqual(read(), [String(100 << 20), '30', '150000']);
  const tooBig = berth('update', '--memory', '1g', id);
  assert.match(tooBig.stderr, /--memory-swap: .* must be at least --memory/);
  assert.deepEqual(read()[0], String(100 << 20));
  const config = JSON.parse(readFileSync(join(root, 'containers', id, 'config.json'), 'utf8'));
  assert.equal(config.linux.resources.memory.limit, 100 << 20);
  ok('stop', '-t', '0', id);
  const stopped = berth('update', '--memory', '80m', id);
  assert.notEqual(stopped.code, 0);
  assert.match(stopped.stderr, /cannot update container .*: it is stopped/);
  ok('rm', id);
});

test('berth update through another runtime: runc update', { skip: !existsSync('/usr/sbin/runc') && 'runc is not installed' }, () => {
  const id = ok('run', '-d', '--runtime', 'runc', '-m', '64m', 'loaded:plain', 'sleep', '60').trim();
  const read = (): string => ok('exec', id, 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes').trim();
  assert.equal(read(), String(64 << 20));
  ok('update', '--memory', '100m', '--memory-swap', '200m', id);
  assert.equal(read(), String(100 << 20));
  ok('rm', '-f', id);
});

test('bad flags and values fail before anything is made, one line naming the flag', () => {
  const before = { containers: containers(), volumes: volumes() };
  const cases: Array<[string[], RegExp]> = [
    [['--memory', '1x'], /^berth: --memory: "1x" is not a size/],
    [['-v', `${join(work, 'nope')}:/x`], /^berth: --volume: the host path .*nope" does not exist/],
    [['-v', 'rel/dir:/x'], /^berth: --volume "rel\/dir:\/x": .*relative host path/],
    [['--cap-add', 'FLY'], /^berth: --cap-add "FLY": unknown capability/],
    [['--device', '/dev/nonexistent-berth'], /^berth: --device: .* does not exist/],
    [['--mount', 'type=bind,source=/nope-berth,target=/x'], /^berth: --mount: the host path "\/nope-berth" does not exist/],
    [['--ulimit', 'nofiles=1'], /^berth: --ulimit "nofiles=1": unknown limit/],
    [['--cpuset-cpus', '99'], /^berth: --cpuset-cpus "99": CPU 99 not available/],
    [['--tmpfs', 'relative'], /^berth: --tmpfs "relative": .*absolute/],
    [['--shm-size', 'big'], /^berth: --shm-size: "big" is not a size/],
  ];
  for (const [flags, want] of cases) {
    const r = berth('run', '--rm', ...flags, 'loaded:plain', 'true');
    assert.equal(r.code, 125, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.deepEqual(containers(), before.containers);
  assert.deepEqual(volumes(), before.volumes);
});
