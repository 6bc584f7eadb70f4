// exec: joins every namespace and the cgroup of the container, applies its capabilities, seccomp
// and the requested user, cwd and env; exit status; detach and pid file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBundle, type TestBundle } from '../../support/bundle.ts';
import { RuntimeCli } from '../../support/cli.ts';
import { processAlive } from '../../../src/sys/proc.ts';

let rt: RuntimeCli;
let b: TestBundle;
let initPid: number;

before(() => {
  rt = new RuntimeCli();
  b = makeBundle(['sleep', '120'], (s) => {
    s.hostname = 'exec-box';
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdirat', 'mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] };
    s.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
  });
  rt.ok(['run', '-d', '--bundle', b.dir, 'ex']);
  initPid = JSON.parse(rt.ok(['state', 'ex'])).pid;
});
after(() => {
  rt.cleanup();
  b.cleanup();
});

test('exec joins the namespaces and the cgroup of the container', () => {
  const out = rt.ok(['exec', 'ex', 'sh', '-c', 'hostname; echo $$; for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done; ls /proc | grep -c "^[0-9]"']);
  const [host, pid, ...rest] = out.trim().split('\n');
  assert.equal(host, 'exec-box');
  assert.notEqual(pid, '1');
  const types = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup'];
  types.forEach((t, i) => assert.equal(rest[i], readlinkSync(`/proc/${initPid}/ns/${t}`), `${t} namespace`));
  // the cgroup: exec a sleeper detached and find it in the container's pids
  const pidFile = join(b.dir, 'exec.pid');
  rt.ok(['exec', '-d', '--pid-file', pidFile, 'ex', 'sleep', '30']);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(processAlive(execPid));
  assert.deepEqual(readFileSync(`/proc/${execPid}/cgroup`, 'utf8'), readFileSync(`/proc/${initPid}/cgroup`, 'utf8'));
  const listed = JSON.parse(rt.ok(['ps', '--format', 'json', 'ex']));
  assert.ok(listed.includes(execPid) && listed.includes(initPid));
  process.kill(execPid, 'SIGKILL');
});

test('exec returns the exit status; user, cwd, env, groups and caps from flags', () => {
  assert.equal(rt.run(['exec', 'ex', 'sh', '-c', 'exit 9']).code, 9);
  const out = rt.ok(['exec', '--user', '1000:1001', '-g', '5', '--cwd', '/tmp', '-e', 'GREETING=hi', 'ex', 'sh', '-c', 'id -u; id -G; pwd; echo $GREETING; grep CapEff /proc/self/status']);
  assert.deepEqual(out.trim().split('\n').slice(0, 4), ['1000', '1001 5', '/tmp', 'hi']);
  const root = rt.ok(['exec', '--cap', 'CAP_CHOWN', 'ex', 'grep', 'CapBnd', '/proc/self/status']);
  const bnd = BigInt(`0x${root.trim().split(/\s+/)[1]}`);
  assert.equal(bnd, (1n << 0n) | (1n << 5n) | (1n << 10n) | (1n << 29n), 'the container bounding set plus CAP_CHOWN');
});

test('exec applies the container seccomp profile', () => {
  const r = rt.run(['exec', 'ex', 'mkdir', '/tmp/x']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Function not implemented/, 'errnoRet 38 = ENOSYS');
});

test('exec -p process.json', () => {
  const file = join(b.dir, 'process.json');
  writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'echo "$X $(pwd)"'], env: ['X=from-json', 'PATH=/bin'], cwd: '/etc', user: { uid: 0, gid: 0 } }));
  assert.equal(rt.ok(['exec', '-p', file, 'ex']), 'from-json /etc\n');
  writeFileSync(file, JSON.stringify({ args: [], cwd: '/', user: { uid: 0, gid: 0 } }));
  assert.match(rt.run(['exec', '-p', file, 'ex']).stderr, /process\.args: must name the program/);
});

test('exec into a stopped or unknown container is refused', () => {
  assert.match(rt.run(['exec', 'nope', 'true']).stderr, /container "nope" does not exist/);
  const s = makeBundle(['true']);
  try {
    rt.ok(['run', '--keep', '--bundle', s.dir, 'ex-stopped']);
    assert.match(rt.run(['exec', 'ex-stopped', 'true']).stderr, /cannot exec in container "ex-stopped": it is stopped/);
    rt.ok(['delete', 'ex-stopped']);
  } finally {
    s.cleanup();
  }
});
