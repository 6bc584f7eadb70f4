// `berth run` applies berth's default seccomp profile: in a container of the busybox test image, a
// static probe (built here) finds the calls a container must not make failing with EPERM, clone3
// with ENOSYS, and /proc/self/status saying "Seccomp: 2"; --security-opt seccomp=unconfined turns
// the filter off (and the same calls then work), a profile file in docker's format is honoured,
// and ordinary work (shell scripts, busybox httpd answering wget on 127.0.0.1, tar, sed, what
// package managers call) runs as before. test/interop/hardening/seccomp-runc.test.ts: runc agrees.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeResults } from '../../fixtures/hardening/probe.ts';
import { DENIED_BY_DEFAULT, PROBE_SCRIPT, probeStore, seccompMode, PROBE_IMAGE as IMAGE, type ProbeStore } from '../../fixtures/hardening/probe-store.ts';

let store: ProbeStore;
let work = '';
let root = '';
const berth = (...args: string[]) => store.berth(...args);
const ok = (...args: string[]): string => store.ok(...args);

before(() => {
  store = probeStore('berth-hardening-seccomp-');
  ({ work, root } = store);
});
after(() => store?.cleanup());

test('by default the filter is on and the hostile calls fail', () => {
  const out = ok('run', '--rm', IMAGE, 'sh', '-c', PROBE_SCRIPT);
  assert.equal(seccompMode(out), '2', out);
  const got = probeResults(out);
  for (const [name, want] of Object.entries(DENIED_BY_DEFAULT)) assert.equal(got[name], want, `${name}: ${out}`);
  assert.equal(got.personality_query, 'ok');
  assert.equal(got.ordinary, 'ok');
});

test('--security-opt seccomp=unconfined: no filter, and the same calls go through', () => {
  const out = ok('run', '--rm', '--security-opt', 'seccomp=unconfined', IMAGE, 'sh', '-c', PROBE_SCRIPT);
  assert.equal(seccompMode(out), '0', out);
  const got = probeResults(out);
  // What the filter stopped, the kernel itself allows (perf_event_open only where
  // kernel.perf_event_paranoid lets an unprivileged process count its own events).
  for (const name of ['add_key', 'keyctl', 'unshare_user', 'clone_newuser', 'personality_noaslr', 'clone3', 'ordinary']) assert.equal(got[name], 'ok', `${name}: ${out}`);
  assert.notEqual(got.perf_event_open, 'EPERM');
  const ioUring = '/proc/sys/kernel/io_uring_disabled';
  if (!existsSync(ioUring) || readFileSync(ioUring, 'utf8').trim() === '0') assert.equal(got.io_uring_setup, 'ok');
});

test("--security-opt seccomp=FILE: a profile in docker's format is resolved against the container and applied", () => {
  const file = join(work, 'profile.json');
  writeFileSync(
    file,
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, comment: 'EACCES' },
        // Only for containers holding CAP_SYS_ADMIN, which this one does not: chmod still works.
        { names: ['chmod', 'fchmodat'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { name: 'keyctl', action: 'SCMP_ACT_ERRNO', errnoRet: 95 },
      ],
    }),
  );
  const r = berth('run', '--rm', '--security-opt', `seccomp=${file}`, IMAGE, 'sh', '-c', "grep '^Seccomp:' /proc/self/status; mkdir /tmp/made; chmod 700 /tmp && echo chmod-ok; /bin/probe keyctl add_key");
  assert.equal(seccompMode(r.stdout), '2', r.stdout + r.stderr);
  assert.match(r.stderr, /mkdir: can't create directory '\/tmp\/made': Permission denied/);
  assert.match(r.stdout, /^chmod-ok$/m);
  assert.deepEqual(probeResults(r.stdout.replace(/^Seccomp.*\n|^chmod-ok\n/gm, '')), { keyctl: 'EOPNOTSUPP', add_key: 'ok' });
});

test('a bad profile file or option is a one-line error naming it, and leaves no container', () => {
  const bad = join(work, 'bad.json');
  writeFileSync(bad, JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['write'], action: 'SCMP_ACT_SOMETIMES' }] }));
  const cases: [string, RegExp][] = [
    [`seccomp=${bad}`, /^berth: .*bad\.json: syscalls\[1\]\.action: unknown seccomp action "SCMP_ACT_SOMETIMES"/],
    [`seccomp=${join(work, 'missing.json')}`, /^berth: .*missing\.json: no such file or directory/],
    ['apparmor=unconfined', /^berth: --security-opt "apparmor=unconfined": expected seccomp=unconfined/],
  ];
  for (const [opt, re] of cases) {
    const r = berth('run', '--rm', '--security-opt', opt, IMAGE, 'true');
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  assert.deepEqual(readdirSync(join(root, 'containers')), []);
});

test('ordinary work runs under the default profile: scripts, a web server on 127.0.0.1, tar, sed', () => {
  const script = [
    'set -e',
    'n=0; while [ $n -lt 20 ]; do n=$((n + 1)); done; echo "loop $n"',
    'echo piped | busybox tr a-z A-Z | (read x; echo "subshell $x")',
    'mkdir -p /tmp/w/src/d && echo content > /tmp/w/src/d/f && ln -s f /tmp/w/src/d/l',
    'busybox tar -C /tmp/w -cf /tmp/w/a.tar src && busybox gzip /tmp/w/a.tar && busybox gunzip /tmp/w/a.tar.gz',
    'mkdir /tmp/w/out && busybox tar -C /tmp/w/out -xf /tmp/w/a.tar',
    'busybox sed -i s/content/changed/ /tmp/w/out/src/d/f && cat /tmp/w/out/src/d/f',
    'busybox readlink /tmp/w/out/src/d/l',
    'echo data | busybox gzip | busybox gunzip',
    'busybox sha256sum /tmp/w/a.tar >/dev/null && echo hashed',
    '/bin/probe ordinary',
  ].join('\n');
  const out = ok('run', '--rm', IMAGE, 'sh', '-c', script);
  assert.deepEqual(out.trim().split('\n'), ['loop 20', 'subshell PIPED', 'changed', 'f', 'data', 'hashed', 'ordinary ok']);

  // A server and a client: httpd in a background container, wget through `berth exec`. berth
  // sets up no network yet, so the test brings the container's loopback up as CNI's loopback
  // plugin would.
  const id = ok('run', '-d', IMAGE, 'sh', '-c', 'mkdir -p /tmp/www && echo "served from the container" > /tmp/www/index.html && exec busybox httpd -f -p 127.0.0.1:8080 -h /tmp/www').trim();
  const pid = readFileSync(join(root, 'containers', id, 'init.pid'), 'utf8').trim();
  execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', 'link', 'set', 'lo', 'up']);
  let fetched = '';
  for (let i = 0; i < 50 && !fetched.includes('served'); i++) {
    fetched = berth('exec', id, 'sh', '-c', "grep '^Seccomp:' /proc/self/status; busybox wget -q -O - http://127.0.0.1:8080/").stdout;
  }
  assert.match(fetched, /^Seccomp:\s+2\n(.|\n)*served from the container/, 'exec runs under the filter too, and the request was served');
  ok('rm', '--force', id);
});
