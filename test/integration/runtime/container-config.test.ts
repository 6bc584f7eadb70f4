// What a container gets from its config: namespaces, mounts, /dev, process settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync, existsSync, lstatSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runtimeSuite } from '../../support/runtime-suite.ts';

const { rt, newBundle, runIn } = runtimeSuite('cfg');


const hostNs = (type: string): string => readlinkSync(`/proc/self/ns/${type}`);

test('new namespaces: pid 1, own hostname and domainname, other ns inodes than the host', () => {
  const r = runIn('echo $$; hostname; cat /proc/sys/kernel/domainname; for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done', (s) => {
    s.hostname = 'box';
    s.domainname = 'example.org';
  });
  assert.equal(r.code, 0, r.err);
  const [pid, host, domain, ...ns] = r.out.trim().split('\n');
  assert.equal(pid, '1');
  assert.equal(host, 'box');
  assert.equal(domain, 'example.org');
  const types = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup'];
  ns.forEach((link, i) => assert.notEqual(link, hostNs(types[i]!), `${types[i]} namespace is new`));
});

test('a namespace left out of the config is shared with the host', () => {
  const r = runIn('readlink /proc/self/ns/net', (s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network')));
  assert.equal(r.out.trim(), hostNs('net'));
});

test('joining an existing namespace by path', () => {
  const holder = newBundle(['sleep', '60']);
  rt.ok(['run', '-d', '--bundle', holder.dir, 'ns-holder']);
  try {
    const pid = JSON.parse(rt.ok(['state', 'ns-holder'])).pid;
    const r = runIn('readlink /proc/self/ns/net; readlink /proc/self/ns/uts; hostname', (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.map((n) =>
        n.type === 'network' ? { type: 'network', path: `/proc/${pid}/ns/net` } : n.type === 'uts' ? { type: 'uts', path: `/proc/${pid}/ns/uts` } : n,
      );
      delete s.hostname;
    });
    assert.equal(r.code, 0, r.err);
    const [net, uts, hostname] = r.out.trim().split('\n');
    assert.equal(net, readlinkSync(`/proc/${pid}/ns/net`));
    assert.equal(uts, readlinkSync(`/proc/${pid}/ns/uts`));
    assert.equal(hostname, 'berth', 'sees the hostname set in the joined uts namespace');
  } finally {
    rt.ok(['delete', '-f', 'ns-holder']);
  }
});

test('user namespace: uid/gid maps applied, root inside is an unprivileged id outside', () => {
  const r = runIn('id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/owned; stat -c %u:%g /tmp/owned; readlink /proc/self/ns/user', (s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    // sysfs and cgroup can't be mounted fresh from a user namespace without owning the netns;
    // bind them instead (as rootless runc configs do).
    s.mounts = s.mounts!.filter((m) => m.destination !== '/sys/fs/cgroup').map((m) =>
      m.destination === '/sys' ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } : m,
    );
    s.root!.readonly = false;
  });
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.deepEqual(lines.slice(0, 2), ['0', '0']);
  assert.match(lines[2]!, /^\s*0\s+100000\s+65536$/);
  assert.match(lines[3]!, /^\s*0\s+200000\s+65536$/);
  assert.equal(lines[4], '0:0');
  assert.notEqual(lines[5], hostNs('user'));
  const st = lstatSync(join(r.b.rootfs, 'tmp/owned'));
  assert.deepEqual([st.uid, st.gid], [100000, 200000], 'files made inside belong to the mapped ids outside');
});

test('mounts: bind read-only, tmpfs with options, rootfs read-only, propagation', () => {
  const host = mkdtempSync(join(tmpdir(), 'berth-test-bind-'));
  writeFileSync(join(host, 'hello'), 'from host\n');
  try {
    const r = runIn(
      'cat /data/hello; touch /data/x 2>/dev/null && echo data-writable || echo data-ro; touch /x 2>/dev/null && echo root-writable || echo root-ro; ' +
        'stat -c %a /scratch; grep " /scratch " /proc/self/mountinfo; grep " /data " /proc/self/mountinfo; grep " / " /proc/self/mountinfo | head -1',
      (s) => {
        s.mounts!.push({ destination: '/data', source: host, type: 'bind', options: ['rbind', 'ro', 'rprivate'] });
        s.mounts!.push({ destination: '/scratch', source: 'tmpfs', type: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m', 'mode=710'] });
        s.linux!.rootfsPropagation = 'rprivate';
      },
    );
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.deepEqual(lines.slice(0, 4), ['from host', 'data-ro', 'root-ro', '710']);
    assert.match(lines[4]!, / \/scratch rw,nosuid,nodev.* - tmpfs tmpfs rw,size=1024k,mode=710/);
    assert.match(lines[5]!, / \/data ro,/);
    assert.doesNotMatch(lines[5]!, /shared:/, 'rprivate');
    assert.match(lines[6]!, / \/ ro,/);
    assert.equal(existsSync(join(host, 'x')), false);
  } finally {
    rmSync(host, { recursive: true, force: true });
  }
});

test('/dev: default devices, symlinks, pts and shm as runc sets them up', () => {
  const r = runIn(
    'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a" /dev/$d; done; ' +
      'for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done; ' +
      'grep -E " /dev/(pts|shm|mqueue) " /proc/self/mountinfo | cut -d" " -f5; echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1',
    (s) => s.linux!.devices = [{ type: 'c', path: '/dev/fuse-like', major: 1, minor: 7, fileMode: 0o600, uid: 0, gid: 0 }],
  );
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.deepEqual(lines.slice(0, 6), [
    '/dev/null character special file 1:3 666',
    '/dev/zero character special file 1:5 666',
    '/dev/full character special file 1:7 666',
    '/dev/random character special file 1:8 666',
    '/dev/urandom character special file 1:9 666',
    '/dev/tty character special file 5:0 666',
  ]);
  assert.deepEqual(lines.slice(6, 11), ['fd -> /proc/self/fd', 'stdin -> /proc/self/fd/0', 'stdout -> /proc/self/fd/1', 'stderr -> /proc/self/fd/2', 'ptmx -> pts/ptmx']);
  assert.deepEqual(lines.slice(11, 14), ['/dev/pts', '/dev/shm', '/dev/mqueue']);
  assert.equal(lines[14]!.trim(), '00 00 00 00');
});

test('linux.devices: created with the right type, numbers, mode and owner', () => {
  const r = runIn('stat -c "%F %t:%T %a %u:%g" /dev/mydev /dev/sub/blk', (s) => {
    s.linux!.devices = [
      { type: 'c', path: '/dev/mydev', major: 1, minor: 7, fileMode: 0o640, uid: 5, gid: 6 },
      { type: 'b', path: '/dev/sub/blk', major: 7, minor: 200, fileMode: 0o600 },
    ];
  });
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n'), ['character special file 1:7 640 5:6', 'block special file 7:c8 600 0:0']);
});

test('process: args, env, cwd, user with groups, umask, rlimits, no_new_privs', () => {
  const r = runIn('echo "$A|$B"; pwd; id -u; id -g; id -G; umask; grep -E "Max open files|Max core" /proc/self/limits; grep NoNewPrivs /proc/self/status', (s) => {
    s.process!.env = ['PATH=/bin', 'A=1', 'B=two words'];
    s.process!.cwd = '/tmp';
    s.process!.user = { uid: 1000, gid: 1001, additionalGids: [20, 30], umask: 0o027 };
    s.process!.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 },
      { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
    ];
  });
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.deepEqual(lines.slice(0, 6), ['1|two words', '/tmp', '1000', '1001', '1001 20 30', '0027']);
  assert.match(lines[6]!, /Max core file size\s+0\s+0\s+bytes/);
  assert.match(lines[7]!, /Max open files\s+512\s+1024\s+files/);
  assert.match(lines[8]!, /NoNewPrivs:\s+1/);
});

test('a cwd that is a file is an error naming process.cwd (a missing one is made, as runc); oomScoreAdj is applied', () => {
  const bad = runIn('true', (s) => (s.process!.cwd = '/etc/passwd'));
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /process\.cwd.*\/etc\/passwd/);
  const ok = runIn('cat /proc/self/oom_score_adj', (s) => (s.process!.oomScoreAdj = 500));
  assert.equal(ok.out.trim(), '500');
});

test('raising a hard rlimit above the runtime\'s own is refused clearly (no CAP_SYS_RESOURCE)', () => {
  const r = runIn('true', (s) => (s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2 ** 40 }]));
  assert.notEqual(r.code, 0);
  assert.match(r.err, /process\.rlimits\[0\]: setrlimit RLIMIT_NOFILE .*CAP_SYS_RESOURCE.*EPERM/);
});

test('HOME comes from the container passwd when the env lacks it; never through a symlink', () => {
  assert.equal(runIn('echo $HOME').out, '/root\n');
  assert.equal(runIn('echo $HOME', (s) => (s.process!.user = { uid: 4242, gid: 4242 })).out, '/\n');
  const b = newBundle(['sh', '-c', 'echo $HOME']);
  rmSync(join(b.rootfs, 'etc/passwd'));
  const hostPasswd = mkdtempSync(join(tmpdir(), 'berth-test-passwd-'));
  writeFileSync(join(hostPasswd, 'passwd'), 'root:x:0:0:root:/host-secret-home:/bin/sh\n');
  symlinkSync(join(hostPasswd, 'passwd'), join(b.rootfs, 'etc/passwd'));
  try {
    assert.equal(rt.run(['run', '--bundle', b.dir, 'home-link']).stdout, '/\n');
  } finally {
    rmSync(hostPasswd, { recursive: true, force: true });
  }
});

test('annotations are kept in the state', () => {
  const b = newBundle(['sleep', '30'], (s) => (s.annotations = { 'org.example/owner': 'tests' }));
  rt.ok(['create', '--bundle', b.dir, 'annotated']);
  try {
    assert.deepEqual(JSON.parse(rt.ok(['state', 'annotated'])).annotations, { 'org.example/owner': 'tests' });
  } finally {
    rt.ok(['delete', '-f', 'annotated']);
  }
});

test('masked and read-only paths', () => {
  const r = runIn('cat /proc/kcore | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/hostname 2>/dev/null && echo writable || echo ro');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n').map((l) => l.trim()), ['0', '0', 'ro']);
});

void chmodSync;
void chownSync;
void mkdirSync;
