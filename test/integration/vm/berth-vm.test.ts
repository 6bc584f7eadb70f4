// berth-vm end to end: each container boots its own VM (TCG here, seconds per boot), so one
// long-lived container carries most checks. Skips when QEMU or the guest image is missing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, type TestBundle } from '../../support/bundle.ts';
import { repoRoot, runCli } from '../../support/cli.ts';
import { processAlive } from '../../../src/sys/proc.ts';
import { vmSkipReason } from '../../support/vm.ts';

const skip = vmSkipReason();
const bin = join(repoRoot, 'bin/berth-vm');
const root = mkdtempSync(join(tmpdir(), 'berth-test-vm-state-'));
const work = mkdtempSync(join(tmpdir(), 'berth-test-vm-'));
const bundles: TestBundle[] = [];
const vm = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) => runCli(bin, ['--root', root, ...args], { timeoutMs: 180_000, ...opts });

after(() => {
  for (const id of existsSync(root) ? readdirSync(root) : []) vm(['delete', '--force', id]);
  rmSync(root, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  for (const b of bundles) b.cleanup();
});

function bundle(args: string[], mutate?: Parameters<typeof makeBundle>[1]): TestBundle {
  const b = makeBundle(args, mutate);
  bundles.push(b);
  return b;
}

/** Processes of the VM of container `id`: QEMU is named berth-<id>, virtiofsd serves its share. */
function vmProcesses(id: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(`berth-${id},`) || cmd.includes(`${root}/${id}/`)) found.push(`${pid} ${cmd.slice(0, 80)}`);
    } catch {
      // gone
    }
  }
  return found;
}

function leftovers(id: string): string[] {
  const out = vmProcesses(id).map((p) => `process ${p}`);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) if (line.includes(`${root}/${id}`)) out.push(`mount ${line}`);
  const cgroups = execFileSync('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-type', 'd', '-name', id], { encoding: 'utf8' }).trim();
  if (cgroups) out.push(`cgroup ${cgroups}`);
  if (existsSync(join(root, id))) out.push(`state ${join(root, id)}`);
  return out;
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const hostRelease = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();

test('a container in its own VM: guest kernel, stdio, exec, exec -t, ps, pause, memory limit, signals, delete', { skip }, async () => {
  const id = 'vm-main';
  const b = bundle(['sh', '-c', 'uname -r; echo to-stderr >&2; read line; echo "stdin:$line"; trap "echo got-usr1; exit 9" USR1; while :; do sleep 0.1; done'], (s) => {
    s.linux!.resources = { ...(s.linux!.resources ?? {}), memory: { limit: 192 * 1024 * 1024 } };
  });
  const outFile = join(work, 'main.out');
  const errFile = join(work, 'main.err');
  const inFile = join(work, 'main.in');
  writeFileSync(inFile, 'hello\n');
  const pidFile = join(work, 'main.pid');
  // The container's stdio is create's (as with runc): files that outlive the command.
  const [i, o, e] = [openSync(inFile, 'r'), openSync(outFile, 'w'), openSync(errFile, 'w')];
  const t0 = Date.now();
  const create = spawnSync(bin, ['--root', root, 'create', '--bundle', b.dir, '--pid-file', pidFile, id], { stdio: [i, o, e], timeout: 180_000 });
  [i, o, e].forEach(closeSync);
  assert.equal(create.status, 0, readFileSync(errFile, 'utf8'));
  const bootMs = Date.now() - t0;

  const state = JSON.parse(vm(['state', id]).stdout);
  assert.equal(state.status, 'created');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  assert.equal(state.pid, pid);
  assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /--vm-monitor/, 'the pid is the VM monitor, a host process');
  assert.equal(vmProcesses(id).length >= 2, true, 'QEMU and virtiofsd run');
  assert.equal(readFileSync(outFile, 'utf8'), '', 'nothing runs before start');

  assert.equal(vm(['start', id]).code, 0);
  await until('the container to read its stdin', () => readFileSync(outFile, 'utf8').includes('stdin:hello'));
  const out = readFileSync(outFile, 'utf8').trim().split('\n');
  assert.notEqual(out[0], hostRelease, 'uname -r is the guest kernel');
  assert.match(out[0]!, /cloud-amd64$/);
  assert.match(readFileSync(errFile, 'utf8'), /to-stderr/);
  assert.equal(JSON.parse(vm(['state', id]).stdout).status, 'running');

  const ex = vm(['exec', id, 'sh', '-c', 'echo second; echo second-err >&2; exit 6']);
  assert.equal(ex.code, 6);
  assert.equal(ex.stdout, 'second\n');
  assert.equal(ex.stderr, 'second-err\n');
  const tty = vm(['exec', '-t', id, 'sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-tty']);
  assert.equal(tty.code, 0, tty.stderr);
  assert.match(tty.stdout.replace(/\r/g, ''), /^\/dev\/pts\/\d+\nstdin-is-tty\n$/);

  const ps = vm(['ps', id]).stdout;
  assert.match(ps, /while :; do sleep 0\.1; done/);

  // The guest's RAM is the limit: the container sees no more, and can't use more.
  const mem = vm(['exec', id, 'sh', '-c', "awk '/MemTotal/ {print $2}' /proc/meminfo"]);
  const totalKiB = Number(mem.stdout.trim());
  assert.ok(totalKiB > 100 * 1024 && totalKiB <= 192 * 1024, `MemTotal ${totalKiB} KiB`);
  // A string doubling until memory runs out: the guest's OOM killer (or awk itself) stops it.
  const hog = vm(['exec', id, 'awk', 'BEGIN { s = "x"; for (i = 0; i < 30; i++) s = s s; print length(s) }']);
  assert.notEqual(hog.code, 0, `a 1 GiB string in a 192 MiB guest: ${hog.stdout}`);

  assert.equal(vm(['pause', id]).code, 0);
  assert.equal(JSON.parse(vm(['state', id]).stdout).status, 'paused');
  assert.equal(vm(['resume', id]).code, 0);
  assert.equal(vm(['exec', id, 'true']).code, 0);

  assert.equal(vm(['kill', id, 'USR1']).code, 0);
  await until('the container to stop', () => JSON.parse(vm(['state', id]).stdout).status === 'stopped');
  assert.match(readFileSync(outFile, 'utf8'), /got-usr1/, 'the signal reached the process in the guest');
  assert.equal(processAlive(pid), false, 'the monitor lives exactly as long as the container');
  assert.equal(vm(['delete', id]).code, 0);
  assert.deepEqual(leftovers(id), []);
  console.log(`# create (boot to waiting) took ${bootMs} ms`);
});

test('run -t in the foreground: a terminal, typed input, the exit status, nothing left', { skip }, () => {
  const id = 'vm-run';
  const b = bundle(['sh', '-c', 'tty; uname -r; read line; echo "got $line"; exit 3'], (s) => (s.process!.terminal = true));
  const r = vm(['run', '--bundle', b.dir, id], { input: 'typed\n' });
  assert.equal(r.code, 3, r.stderr);
  // The guest's pty echoes what was typed, in whatever order it arrived.
  const lines = r.stdout.replace(/\r/g, '').trim().split('\n');
  assert.ok(lines.some((l) => /^\/dev\/pts\/\d+$/.test(l)), r.stdout);
  assert.ok(lines.some((l) => /cloud-amd64$/.test(l) && l !== hostRelease), r.stdout);
  assert.ok(lines.includes('got typed'), r.stdout);
  assert.deepEqual(leftovers(id), []);
});

/** The host processes of the VM: [QEMU, virtiofsd] by their command lines. */
function vmPids(id: string): { qemu: number; virtiofsd: number } {
  const [qemu, virtiofsd] = ['qemu-system', 'virtiofsd'].map((name) => Number(vmProcesses(id).find((p) => p.includes(name))?.split(' ')[0]));
  return { qemu: qemu!, virtiofsd: virtiofsd! };
}

const ip = (args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

test('a pod netns: the VM takes over its interface (tc mirred to a tap) and serves HTTP to the host; QEMU sandboxed; kill -9 of the monitor, then delete leaves no tap, filter, QEMU, virtiofsd, mount or cgroup', { skip }, async (t) => {
  const id = 'vm-net';
  // Test-unique names and a /30 of their own (the pid picks it), all removed after.
  const tag = String(process.pid % 100000);
  const netns = `berth-t-vmnet-${tag}`;
  const hostIf = `bvt${tag}h`;
  const net = `10.231.${process.pid % 250}`;
  t.after(() => {
    spawnSync('ip', ['link', 'del', hostIf]);
    spawnSync('ip', ['netns', 'del', netns]);
  });
  ip(['netns', 'add', netns]);
  ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  ip(['addr', 'add', `${net}.1/30`, 'dev', hostIf]);
  ip(['link', 'set', hostIf, 'up']);
  ip(['-n', netns, 'addr', 'add', `${net}.2/30`, 'dev', 'eth0']);
  ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
  ip(['-n', netns, 'route', 'add', 'default', 'via', `${net}.1`]);
  const mac = JSON.parse(ip(['-n', netns, '-j', 'link', 'show', 'eth0']))[0].address;
  const resolv = join(work, 'resolv.conf');
  writeFileSync(resolv, `nameserver ${net}.1\nsearch pod.test\n`);
  const b = bundle(['sh', '-c', 'mkdir /dev/shm/www; { cat /sys/class/net/eth0/address; cat /etc/resolv.conf; } > /dev/shm/www/index.html; exec httpd -f -p 8080 -h /dev/shm/www'], (s) => {
    s.linux!.namespaces = [...s.linux!.namespaces!.filter((n) => n.type !== 'network'), { type: 'network', path: `/run/netns/${netns}` }];
    s.mounts!.push({ destination: '/etc/resolv.conf', type: 'bind', source: resolv, options: ['rbind', 'ro'] });
  });
  const r = vm(['create', '--bundle', b.dir, id]);
  assert.equal(r.code, 0, r.stderr);
  const tap = JSON.parse(ip(['-n', netns, '-j', 'link', 'show'])).map((l: { ifname: string }) => l.ifname).find((n: string) => n.startsWith('bvm'));
  assert.ok(tap, 'a tap in the pod netns');
  assert.match(execFileSync('tc', ['-n', netns, 'filter', 'show', 'dev', 'eth0', 'ingress'], { encoding: 'utf8' }), new RegExp(`mirred \\(Egress Redirect to device ${tap}\\)`));
  assert.equal(vm(['start', id]).code, 0);

  let page = '';
  const deadline = Date.now() + 60_000;
  while (!page && Date.now() < deadline) {
    page = await fetch(`http://${net}.2:8080/`, { signal: AbortSignal.timeout(5000) }).then((res) => res.text()).catch(() => '');
    if (!page) await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(page, `${mac}\nnameserver ${net}.1\nsearch pod.test\n`, 'the guest has the interface\'s MAC and the bundle\'s resolv.conf, and answers on the pod IP');

  // Hardening: QEMU under seccomp (-sandbox on); in its mount namespace the state root is empty;
  // virtiofsd sees the rootfs and the bind sources alone.
  const { qemu, virtiofsd } = vmPids(id);
  assert.match(readFileSync(`/proc/${qemu}/status`, 'utf8'), /^Seccomp:\s+2$/m);
  assert.deepEqual(readdirSync(`/proc/${qemu}/root${root}`), []);
  assert.deepEqual(readdirSync(`/proc/${virtiofsd}/root`).sort(), [`m${b.spec.mounts!.length - 1}`, 'rootfs']);

  const pid = JSON.parse(vm(['state', id]).stdout).pid;
  process.kill(pid, 'SIGKILL');
  await until('the VM to end', () => vmProcesses(id).length === 0);
  assert.equal(JSON.parse(vm(['state', id]).stdout).status, 'stopped');
  assert.equal(vm(['delete', id]).code, 0);
  assert.deepEqual(leftovers(id), []);
  assert.doesNotMatch(ip(['-n', netns, 'link', 'show']), /bvm/, 'the tap is gone');
  assert.doesNotMatch(execFileSync('tc', ['-n', netns, 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' }), /ingress/, 'the redirection is gone');
});

test('a failed create (a missing executable) is reported with the field, and leaves nothing', { skip }, () => {
  const id = 'vm-bad';
  const b = bundle(['/no/such/program']);
  const r = vm(['create', '--bundle', b.dir, id]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /process\.args\[0\].*\/no\/such\/program/);
  assert.deepEqual(leftovers(id), []);
});
