// `berth run`, `ps`, `rm` and `import`: image config -> runtime spec, run by berth's runtime.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { leftovers, repoRoot, runCli, runCliAsync, type RunResult } from '../../support/cli.ts';
import { processAlive } from '../../../src/sys/proc.ts';

let work: string;
let root: string;
const berthBin = join(repoRoot, 'bin/berth');
const berth = (...args: string[]): RunResult => runCli(berthBin, ['--root', root, ...args]);
const berthWithInput = (input: string, ...args: string[]): RunResult => runCli(berthBin, ['--root', root, ...args], { input });
const ok = (...args: string[]): string => {
  const r = berth(...args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-test-run-'));
  root = join(work, 'store');
  const img = buildImage({ cmd: ['sh', '-c', 'id -u; id -g; pwd; echo "$GREETING"; echo "$HOME"'], env: ['PATH=/bin', 'GREETING=hello'], workdir: '/data', user: 'app' });
  writeOciLayout(img, join(work, 'layout'), 'test');
  ok('load', '-i', join(work, 'layout'));
});

after(() => {
  // A failed test may leave containers running (background ones under their monitors): remove them.
  const containers = join(root, 'containers');
  for (const id of existsSync(containers) ? readdirSync(containers) : []) runCli(berthBin, ['--root', root, 'rm', '--force', id]);
  // unmount anything a failed test left, then remove the store
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(work)) execFileSync('umount', ['-l', mp]);
  }
  rmSync(work, { recursive: true, force: true });
});

function imageName(): string {
  return JSON.parse(ok('images', '--format', 'json'))[0].name ?? JSON.parse(ok('images', '--format', 'json'))[0].repository;
}

test('run uses the image config: Cmd, Env, WorkingDir, User (resolved in the image)', () => {
  const out = ok('run', '--rm', imageName());
  assert.deepEqual(out.trim().split('\n'), ['1000', '1000', '/data', 'hello', '/home/app']);
});

test('run overrides: command, -e, -w, --user; exit status is the container\'s', () => {
  const r = berth('run', '--rm', '-e', 'GREETING=bye', '-e', 'EXTRA=1', '-w', '/tmp', '--user', '0:50', imageName(), 'sh', '-c', 'id -u; id -g; pwd; echo "$GREETING $EXTRA"; exit 7');
  assert.equal(r.code, 7, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['0', '50', '/tmp', 'bye 1']);
});

test('the layers are applied: whiteouts, opaque directories, modes', () => {
  const out = ok('run', '--rm', '--user', '0', imageName(), 'sh', '-c', 'ls /data; [ -e /removeme ] && echo still-there; stat -c "%a %u:%g" /bin/suid /bin/sgid /etc/motd; cat /etc/motd-link');
  assert.deepEqual(out.trim().split('\n'), ['new', '4755 0:0', '2750 0:50', '640 1000:1000', 'hello from layer 3']);
});

test('without --rm the container stays until rm; --rm leaves nothing', () => {
  ok('run', '--name', 'kept', imageName(), 'true');
  const all = JSON.parse(ok('ps', '-a', '--format', 'json'));
  assert.equal(all.length, 1);
  assert.equal(all[0].name, 'kept');
  assert.equal(all[0].status, 'stopped');
  assert.equal(all[0].exitCode, 0);
  assert.match(ok('ps', '-a'), /"true"\s+Less than a minute ago\s+Exited \(0\)\s+kept$/m);
  assert.equal(JSON.parse(ok('ps', '--format', 'json')).length, 0, 'ps without -a shows running ones only');
  assert.match(berth('run', '--name', 'kept', imageName(), 'true').stderr, /container name "kept" is already in use/);
  ok('rm', 'kept');
  assert.deepEqual(JSON.parse(ok('ps', '-a', '--format', 'json')), []);
  assert.deepEqual(readdirSync(join(root, 'containers')), []);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(root), false, 'no rootfs mount left');
});

test('an unknown image is a one-line error and leaves nothing behind', () => {
  const r = berth('run', '--rm', 'localhost/nope:missing', 'true');
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^berth: .*nope/);
  assert.deepEqual(existsSync(join(root, 'containers')) ? readdirSync(join(root, 'containers')) : [], []);
});

test('import turns a rootfs tarball into an image that runs', () => {
  const tarball = join(work, 'busybox.tar.gz');
  execFileSync(join(repoRoot, 'scripts/make-busybox-rootfs.sh'), [tarball]);
  const out = ok('import', '--change', 'CMD ["echo", "imported"]', '--change', 'ENV MODE=test', tarball, 'localhost/imported:1');
  assert.match(out, /^localhost\/imported:1 sha256:[0-9a-f]{64}\n$/);
  assert.equal(ok('run', '--rm', 'localhost/imported:1'), 'imported\n');
  assert.equal(ok('run', '--rm', 'localhost/imported:1', 'sh', '-c', 'echo $MODE'), 'test\n');
});

test('-i passes stdin to the container; without it the container reads /dev/null, as docker does', () => {
  const script = 'if read line; then echo "got $line"; else echo "no input"; fi';
  const withI = berthWithInput('hello\n', 'run', '--rm', '-i', imageName(), 'sh', '-c', script);
  assert.equal(withI.code, 0, withI.stderr);
  assert.equal(withI.stdout, 'got hello\n');
  const without = berthWithInput('hello\n', 'run', '--rm', imageName(), 'sh', '-c', script);
  assert.equal(without.stdout, 'no input\n');
});

test('-t gives the container a terminal relayed to ours, TERM set; -it also types into it', () => {
  const t = berthWithInput('ignored\n', 'run', '--rm', '-t', imageName(), 'sh', '-c', 'tty; echo "TERM=$TERM"; if read -t 1 line; then echo "got $line"; else echo "no input"; fi; exit 3');
  assert.equal(t.code, 3, t.stderr);
  const lines = t.stdout.replace(/\r/g, '').trim().split('\n');
  assert.deepEqual(lines.filter((l) => !l.startsWith('ignored')), ['/dev/pts/0', 'TERM=xterm', 'no input']);
  const it = berthWithInput('typed\n', 'run', '--rm', '-it', imageName(), 'sh', '-c', 'read line; echo "got $line"');
  assert.equal(it.code, 0, it.stderr);
  // the terminal echoes what was typed, in whatever order it arrived
  assert.ok(it.stdout.replace(/\r/g, '').split('\n').includes('got typed'), it.stdout);
});

test('run -d: the container runs on after berth exits; ps, logs, logs -f, stop, rm', async () => {
  const id = ok('run', '-d', '--name', 'bg', imageName(), 'sh', '-c', 'echo started; echo oops >&2; trap "echo bye; exit 5" TERM; while true; do sleep 0.1; done').trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = () => JSON.parse(ok('ps', '-a', '--format', 'json')) as Array<{ name: string; status: string; exitCode?: number }>;
  assert.equal(ps().find((c) => c.name === 'bg')?.status, 'running');
  assert.match(ok('ps'), /\bUp\s+bg$/m);
  // Output arrives in the log while it runs; stdout and stderr keep their streams.
  let logs = berth('logs', 'bg');
  for (let i = 0; i < 50 && !logs.stdout.includes('started'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    logs = berth('logs', 'bg');
  }
  assert.equal(logs.stdout, 'started\n');
  assert.equal(logs.stderr, 'oops\n');
  assert.match(berth('logs', '--timestamps', 'bg').stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z started$/m);
  // stop: SIGTERM to init, which traps it and exits 5 within the grace period.
  assert.equal(ok('stop', 'bg'), 'bg\n');
  const stopped = ps().find((c) => c.name === 'bg')!;
  assert.deepEqual([stopped.status, stopped.exitCode], ['stopped', 5]);
  assert.match(ok('ps', '-a'), /Exited \(5\)\s+bg$/m);
  assert.equal(berth('logs', '-f', 'bg').stdout, 'started\nbye\n', 'follow ends with the container');
  ok('rm', 'bg');
  assert.deepEqual(readdirSync(join(root, 'containers')), []);
});

test('stop kills after the grace period; logs -f follows a running container to its end', async () => {
  ok('run', '-d', '--name', 'stubborn', imageName(), 'sh', '-c', 'trap "" TERM; echo up; while true; do sleep 0.1; done');
  const t0 = Date.now();
  ok('stop', '--time', '1', 'stubborn');
  assert.ok(Date.now() - t0 >= 1000, 'waited for the grace period');
  assert.match(ok('ps', '-a'), /Exited \(137\)\s+stubborn$/m);
  ok('rm', 'stubborn');
  ok('run', '-d', '--name', 'counter', imageName(), 'sh', '-c', 'for i in 1 2 3; do echo $i; sleep 0.3; done; printf "no newline"; exit 2');
  assert.equal(berth('logs', '--follow', 'counter').stdout, '1\n2\n3\nno newline\n');
  assert.match(ok('ps', '-a'), /Exited \(2\)\s+counter$/m);
  ok('rm', 'counter');
  // rm -f of a running background container: killed, its monitor done, nothing left.
  ok('run', '-d', '--name', 'busy', imageName(), 'sh', '-c', 'while true; do echo x; sleep 0.05; done');
  assert.match(berth('rm', 'busy').stderr, /container "busy" is running: stop it first or use --force/);
  ok('rm', '-f', 'busy');
  assert.deepEqual(readdirSync(join(root, 'containers')), []);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(root), false, 'no rootfs mount left');
});

test('run -d that cannot start leaves nothing', () => {
  const bad = berth('run', '-d', '--name', 'nope', imageName(), '/no/such/program');
  assert.notEqual(bad.code, 0);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /\/no\/such\/program/);
  assert.deepEqual(readdirSync(join(root, 'containers')), []);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(root), false, 'no rootfs mount left');
  assert.match(berth('logs', 'nope').stderr, /no such container: "nope"/);
});

test('exec: the container\'s env, cwd and user, flags over them, names from its passwd; -i, -t, -d', async () => {
  ok('run', '-d', '--name', 'target', imageName(), 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done');
  try {
    const r = berth('exec', 'target', 'sh', '-c', 'echo "$GREETING"; id -u; pwd; exit 4');
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, 'hello\n1000\n/data\n');
    assert.equal(ok('exec', '-u', '0', '-w', '/tmp', '-e', 'GREETING=hi', 'target', 'sh', '-c', 'echo "$GREETING $(id -u) $(pwd)"'), 'hi 0 /tmp\n');
    assert.equal(ok('exec', '--user', 'app', 'target', 'sh', '-c', 'echo "$(id -u):$(id -g) $HOME"'), '1000:1000 /home/app\n');
    assert.match(berth('exec', '-u', 'nobody-here', 'target', 'true').stderr, /nobody-here/);
    assert.equal(berthWithInput('typed\n', 'exec', '-i', 'target', 'sh', '-c', 'read l; echo "got $l"').stdout, 'got typed\n');
    assert.equal(berthWithInput('typed\n', 'exec', 'target', 'sh', '-c', 'read l || echo "no input"').stdout, 'no input\n');
    const t = berth('exec', '-t', 'target', 'sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo "a terminal, TERM=$TERM"');
    assert.equal(t.stdout.replace(/\r/g, ''), 'a terminal, TERM=xterm\n', t.stderr);
    assert.equal(ok('exec', '-d', 'target', 'sh', '-c', 'sleep 0.2; echo done > /tmp/marker; echo lost'), '');
    let marker = '';
    for (let i = 0; i < 50 && marker !== 'done\n'; i++) {
      await new Promise((res) => setTimeout(res, 100));
      marker = berth('exec', 'target', 'cat', '/tmp/marker').stdout;
    }
    assert.equal(marker, 'done\n');
  } finally {
    ok('stop', 'target');
  }
  assert.match(berth('exec', 'target', 'true').stderr, /cannot exec in container .*: it is stopped/);
  ok('rm', 'target');
});

test('run -d --rm: the monitor removes the container once it has ended', async () => {
  const id = ok('run', '-d', '--rm', '--name', 'gone', imageName(), 'sh', '-c', 'sleep 0.3; exit 1').trim();
  assert.ok(existsSync(join(root, 'containers', id)));
  for (let i = 0; i < 100 && existsSync(join(root, 'containers', id)); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(existsSync(join(root, 'containers', id)), false, 'removed after it exited');
  assert.deepEqual(JSON.parse(ok('ps', '-a', '--format', 'json')).filter((c: { name: string }) => c.name === 'gone'), []);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(join(root, 'containers', id)), false, 'no rootfs mount left');
});

test('a relative --root works for run and run -d (the bundle and the monitor get absolute paths)', async () => {
  const rel = (...args: string[]): RunResult => runCli(berthBin, ['--root', 'store', ...args], { cwd: work });
  const fg = rel('run', '--rm', imageName(), 'sh', '-c', 'echo fg');
  assert.equal(fg.code, 0, fg.stderr);
  assert.equal(fg.stdout, 'fg\n');
  const bg = rel('run', '-d', '--name', 'relative', imageName(), 'sh', '-c', 'echo bg');
  assert.equal(bg.code, 0, bg.stderr);
  let logs = '';
  for (let i = 0; i < 50 && logs !== 'bg\n'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    logs = rel('logs', 'relative').stdout;
  }
  assert.equal(logs, 'bg\n');
  assert.equal(rel('rm', '-f', 'relative').code, 0);
});

test('run -dit: a background shell on a terminal stays up (stdin held open); its output is logged', async () => {
  ok('run', '-dit', '--name', 'shell', imageName(), 'sh');
  ok('run', '-di', '--name', 'reader', imageName(), 'sh', '-c', 'echo waiting; read line; echo "never: $line"');
  // The interactive shell's prompt went to the terminal, so to the log.
  const logged = async (name: string, expected: RegExp): Promise<string> => {
    let text = '';
    for (let i = 0; i < 100 && !expected.test(text); i++) {
      await new Promise((r) => setTimeout(r, 50));
      text = ok('logs', name);
    }
    return text;
  };
  assert.match(await logged('shell', /^\/data \$ /m), /^\/data \$ /m);
  assert.equal(await logged('reader', /^waiting$/m), 'waiting\n');
  await new Promise((r) => setTimeout(r, 300));
  assert.match(ok('ps'), /\bUp\s+shell$/m, 'the shell waits on its open terminal');
  assert.match(ok('ps'), /\bUp\s+reader$/m, 'the reader waits on its open stdin');
  assert.equal(ok('exec', 'shell', 'sh', '-c', 'echo inside'), 'inside\n');
  ok('stop', '--time', '1', 'shell', 'reader');
  assert.match(ok('ps', '-a'), /Exited \(\d+\)\s+shell$/m);
  ok('rm', 'shell', 'reader');
});

test('attach: our input reaches a background container (pipe or terminal), its output and exit status come back', async () => {
  const pipeId = ok('run', '-di', '--name', 'att-pipe', imageName(), 'sh', '-c', 'while read l; do echo "got $l"; done; echo bye >&2; exit 9').trim();
  assert.equal(statSync(join(root, 'containers', pipeId, 'attach.sock')).mode & 0o777, 0o600, 'only its owner may attach');
  const piped = berthWithInput('a\nb\n', 'attach', 'att-pipe');
  assert.equal(piped.code, 9, piped.stderr);
  assert.equal(piped.stdout, 'got a\ngot b\n');
  assert.equal(piped.stderr, 'bye\n');
  ok('run', '-dit', '--name', 'att-tty', imageName(), 'sh');
  const tty = berthWithInput('echo "sum=$((1+2))"\nexit 4\n', 'attach', 'att-tty');
  assert.equal(tty.code, 4, tty.stderr);
  assert.ok(tty.stdout.replace(/\r/g, '').split('\n').includes('sum=3'), tty.stdout);
  assert.match(ok('ps', '-a'), /Exited \(4\)\s+att-tty$/m);
  ok('run', '--name', 'att-fg', imageName(), 'true');
  assert.match(berth('attach', 'att-fg').stderr, /container "att-fg" cannot be attached: it is not running in the background/);
  ok('rm', 'att-pipe', 'att-tty', 'att-fg');
});

const containerDir = (id: string): string => join(root, 'containers', id);
const idOf = (name: string): string => (JSON.parse(ok('ps', '-a', '--format', 'json')) as Array<{ id: string; name: string }>).find((c) => c.name === name)!.id;

async function untilExited(name: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!existsSync(join(containerDir(idOf(name)), 'exit-code'))) {
    if (Date.now() > deadline) throw new Error(`${name} did not exit`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('run -d --log-opt: the log rotates at max-size, max-file files kept; logs reads them in order, --tail, --since, --until', async () => {
  ok('run', '-d', '--name', 'rot', '--log-opt', 'max-size=200k,max-file=4', imageName(), 'sh', '-c', 'seq 1 100000');
  await untilExited('rot');
  const log = join(containerDir(idOf('rot')), 'container.log');
  const kept = [log, `${log}.1`, `${log}.2`, `${log}.3`];
  for (const f of kept) assert.ok(existsSync(f) && statSync(f).size <= 200_000, `${f}: ${existsSync(f) ? statSync(f).size : 'missing'}`);
  assert.equal(existsSync(`${log}.4`), false, 'no more than max-file files');
  const numbers = ok('logs', 'rot').trim().split('\n').map(Number);
  assert.ok(numbers.length > 10_000, `${numbers.length} lines kept`);
  assert.equal(numbers.at(-1), 100_000);
  assert.ok(numbers.every((n, i) => n === numbers[0]! + i), 'contiguous: each line once, in order, across the files');
  assert.equal(ok('logs', '--tail', '3', 'rot'), '99998\n99999\n100000\n');
  assert.equal(ok('logs', '-n', '0', 'rot'), '');
  assert.equal(ok('logs', '--tail', 'all', 'rot').trim().split('\n').length, numbers.length);
  assert.match(ok('logs', '-t', '--tail', '1', 'rot'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z 100000\n$/);
  assert.equal(ok('logs', '--since', '2099-01-01T00:00:00Z', 'rot'), '');
  assert.equal(ok('logs', '--until', '2000-01-01', 'rot'), '');
  assert.equal(ok('logs', '--since', '1h', '--tail', '2', 'rot'), '99999\n100000\n');
  assert.match(berth('logs', '--since', 'soon', 'rot').stderr, /^berth: --since: "soon" is neither a time/);
  const bad = berth('run', '-d', '--name', 'badopt', '--log-opt', 'max-size=lots', imageName(), 'true');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^berth: --log-opt max-size: "lots" is not a size/);
  assert.equal(JSON.parse(ok('ps', '-a', '--format', 'json')).some((c: { name: string }) => c.name === 'badopt'), false, 'nothing made');
  ok('rm', 'rot');
});

test('logs reads a big log in bounded memory, and --tail reads only its end', async () => {
  // ~130 MB of log: the old reader held all of it (and more) in memory.
  ok('run', '-d', '--name', 'big', '--log-opt', 'max-size=1g', imageName(), 'sh', '-c', 'yes "$(printf %0990d 7)" | head -n 130000');
  await untilExited('big', 60_000);
  const measure = (...args: string[]): { kb: number; ms: number; out: string } => {
    const t0 = Date.now();
    const r = spawnSync('sh', ['-c', `/usr/bin/time -f 'rss %M' ${berthBin} --root ${root} ${args.join(' ')} | wc -lc`], { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
    return { kb: Number(/rss (\d+)/.exec(r.stderr)?.[1]), ms: Date.now() - t0, out: r.stdout.trim() };
  };
  const all = measure('logs', 'big');
  assert.deepEqual(all.out.split(/\s+/).map(Number), [130_000, 130_000 * 991]);
  const tail = measure('logs', '--tail', '10', 'big');
  assert.deepEqual(tail.out.split(/\s+/).map(Number), [10, 10 * 991]);
  process.stdout.write(`# logs of ${statSync(join(containerDir(idOf('big')), 'container.log')).size} bytes: ${all.kb} KB RSS, ${all.ms} ms; --tail 10: ${tail.kb} KB, ${tail.ms} ms\n`);
  assert.ok(all.kb < 200_000, `RSS ${all.kb} KB`);
  assert.ok(tail.ms < 2000 && tail.ms * 3 < all.ms, `--tail took ${tail.ms} ms, all of it ${all.ms} ms`);
  ok('rm', 'big');
});

test('logs -f follows the output across rotations: every line once, in order', async () => {
  const script = 'i=0; while [ $i -lt 20000 ]; do echo $i; i=$((i+1)); [ $((i % 1000)) -eq 0 ] && sleep 0.1; done; exit 0';
  ok('run', '-d', '--name', 'flw', '--log-opt', 'max-size=20k,max-file=100', imageName(), 'sh', '-c', script);
  const r = await runCliAsync(berthBin, ['--root', root, 'logs', '-f', 'flw']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map(Number), Array.from({ length: 20000 }, (_, i) => i));
  assert.ok(existsSync(join(containerDir(idOf('flw')), 'container.log.20')), 'it rotated many times');
  ok('rm', 'flw');
});

/** The container's init and its long-lived child (`sleep 1000`). */
function containerProcesses(id: string): { init: number; pids: number[] } {
  const init = Number(readFileSync(join(containerDir(id), 'init.pid'), 'utf8'));
  const children = readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const sleeper = children.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\x001000\x00');
  assert.equal(sleeper.length, 1, 'the child is there');
  return { init, pids: [init, ...sleeper] };
}
const monitorPid = (id: string): number => (JSON.parse(readFileSync(join(containerDir(id), 'meta.json'), 'utf8')) as { monitor: { pid: number } }).monitor.pid;

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a killed monitor takes its container with it; ps and logs say so; stop and rm clean everything', async () => {
  const id = ok('run', '-d', '--name', 'tied', imageName(), 'sh', '-c', 'sleep 1000 & echo up; while true; do sleep 0.1; done').trim();
  await waitFor('output', () => berth('logs', 'tied').stdout === 'up\n');
  const { pids } = containerProcesses(id);
  assert.ok(leftovers(join(containerDir(id), 'rootfs'), undefined, id).some((l) => l.startsWith('cgroup ')), 'it has cgroups');
  process.kill(monitorPid(id), 'SIGKILL');
  await waitFor('the container to die with its monitor', () => !pids.some((pid) => processAlive(pid)), 2000);
  assert.match(ok('ps', '-a'), /Exited \(monitor died\)\s+tied$/m);
  const [row] = (JSON.parse(ok('ps', '-a', '--format', 'json')) as Array<{ name: string; status: string; supervision: string }>).filter((c) => c.name === 'tied');
  assert.deepEqual([row!.status, row!.supervision], ['stopped', 'lost']);
  const logs = berth('logs', '-f', 'tied');
  assert.equal(logs.stdout, 'up\n', 'logs -f ends: nothing more will come');
  assert.match(logs.stderr, /^berth: warning: the monitor of container tied \(pid \d+\) died: what the container wrote since then is lost$/m);
  assert.equal(ok('stop', 'tied'), 'tied\n');
  ok('rm', 'tied');
  assert.equal(existsSync(containerDir(id)), false);
  assert.deepEqual(leftovers(join(containerDir(id), 'rootfs'), undefined, id), []);
  assert.equal(existsSync(join(root, 'runtime', id)), false, 'no runtime state');
});

test('--survive-monitor: a container whose monitor was killed runs on unsupervised, and ps shows it; stop and rm still clean everything', async () => {
  const id = ok('run', '-d', '--survive-monitor', '--name', 'adrift', imageName(), 'sh', '-c', 'sleep 1000 & echo up; while true; do sleep 0.1; done').trim();
  await waitFor('output', () => berth('logs', 'adrift').stdout === 'up\n');
  const { pids } = containerProcesses(id);
  process.kill(monitorPid(id), 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(pids.every((pid) => processAlive(pid)), 'it runs on');
  assert.match(ok('ps'), /Up \(unsupervised\)\s+adrift$/m);
  const t0 = Date.now();
  const logs = berth('logs', '-f', 'adrift');
  assert.ok(Date.now() - t0 < 5000, 'logs -f does not wait for output that cannot come');
  assert.equal(logs.stdout, 'up\n');
  assert.match(logs.stderr, /monitor of container adrift .* died/);
  const exec = berth('exec', 'adrift', 'echo', 'inside');
  assert.equal(exec.code, 0, exec.stderr);
  assert.equal(exec.stdout, 'inside\n');
  assert.match(exec.stderr, /warning: the monitor of container adrift .* died: the container runs unsupervised/);
  assert.match(berth('attach', 'adrift').stderr, /cannot be attached: its monitor \(pid \d+\) died/);
  assert.match(berth('rm', 'adrift').stderr, /container "adrift" is running: stop it first/);
  const stop = berth('stop', '--time', '1', 'adrift');
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stderr, /stopping the container anyway/);
  assert.equal(pids.some((pid) => processAlive(pid)), false, 'every process of it is gone');
  assert.match(ok('ps', '-a'), /Exited \(monitor died\)\s+adrift$/m);
  ok('rm', 'adrift');
  assert.equal(existsSync(containerDir(id)), false);
  assert.deepEqual(leftovers(join(containerDir(id), 'rootfs'), undefined, id), []);
});
