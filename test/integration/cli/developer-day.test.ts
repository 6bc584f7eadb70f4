// A developer's day with berth alone, only through bin/berth, as a user types it: build a small
// web app image, run it in the background with a published port, a bind-mounted site, an env
// file, a restart policy and a memory limit; fetch its page, edit the site and see the change;
// logs, exec, stats, top, ps --format, a second container reaching it by name on a user network,
// cp to and from its volume, a crash the policy restarts, stop, start, restart, rm, network rm —
// and then nothing of it left on the host: no mount, veth, bridge, iptables rule, cgroup or
// process. The store, config dir, bridge and subnet are this test's own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli, runCliAsync, type RunResult } from '../../support/cli.ts';
import { processAlive, untilGone } from '../../../src/sys/proc.ts';
import { bridgePorts, freePort, freeSubnet, iptablesState, linkExists, removeIptablesLeftovers, removeLink, rulesMentioning, saveSysctl, uniqueId, fetchText } from '../network/host-network.ts';

const skip = !existsSync('/usr/lib/cni/bridge') || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;

const uid = uniqueId();
const NET = `day-${uid}`;
const BRIDGE = `bday${uid}`;
const BASE = 'localhost/day-base:1';
const APP = 'localhost/day-web:1';
const berthBin = join(repoRoot, 'bin/berth');
let work: string;
let root: string;
let config: string;
let subnet: ReturnType<typeof freeSubnet>;
let iptablesBefore: ReturnType<typeof iptablesState>;
const ipForward = skip ? undefined : saveSysctl('net.ipv4.ip_forward');
const global = (): string[] => ['--root', root, '--config', config];
const berth = (...args: string[]): RunResult => runCli(berthBin, [...global(), ...args], { timeoutMs: 60_000 });
const ok = (...args: string[]): string => {
  const r = berth(...args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const mountsUnder = (dir: string): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));
const meta = (id: string): any => JSON.parse(readFileSync(join(root, 'containers', id, 'meta.json'), 'utf8'));

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'berth-test-day-'));
  root = join(work, 'store');
  config = join(work, 'config');
  iptablesBefore = iptablesState();
  subnet = freeSubnet();
  execFileSync(join(repoRoot, 'scripts/make-busybox-rootfs.sh'), [join(work, 'bb.tar.gz')]);
  ok('import', '-c', 'ENV PATH=/bin', join(work, 'bb.tar.gz'), BASE);
});

after(() => {
  if (skip) return;
  const containers = join(root, 'containers');
  for (const id of existsSync(containers) ? readdirSync(containers) : []) berth('rm', '--force', id);
  berth('network', 'rm', NET);
  for (const line of mountsUnder(work)) execFileSync('umount', ['-l', line.split(' ')[4]!]);
  removeIptablesLeftovers(iptablesBefore, [subnet.prefix, NET]);
  removeLink(BRIDGE);
  ipForward?.restore();
  rmSync(work, { recursive: true, force: true });
});

/** A just-started server may not listen yet: retried until it answers `expected` or a deadline. */
async function fetchUntil(port: number, path: string, expected: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (let last = ''; ; ) {
    try {
      last = await fetchText(port, path);
      if (last === expected) return last;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The init pid of a running container, from its record. */
const initPid = (id: string): number => Number(readFileSync(join(root, 'containers', id, 'init.pid'), 'utf8'));

test("a developer's day: build, run -d -p -v --restart --memory, logs, exec, stats, top, a network, cp, a crash, stop, rm", { skip, timeout: 300_000 }, async () => {
  // Build: a Dockerfile with COPY, EXPOSE, VOLUME and a CMD, from a context of her own.
  const ctx = join(work, 'app');
  mkdirSync(join(ctx, 'www'), { recursive: true });
  writeFileSync(join(ctx, 'www/index.html'), 'built into the image\n');
  writeFileSync(join(ctx, 'Dockerfile'), [`FROM ${BASE}`, 'COPY www /www', 'EXPOSE 80', 'VOLUME /data', 'CMD ["httpd", "-f", "-v", "-p", "80", "-h", "/www"]', ''].join('\n'));
  ok('build', '--progress', 'plain', '-t', APP, ctx);
  const image = JSON.parse(ok('inspect', APP))[0];
  assert.deepEqual(Object.keys(image.config.config.ExposedPorts ?? {}), ['80/tcp']);

  ok('network', 'create', '--interface-name', BRIDGE, '--subnet', subnet.subnet, NET);
  const site = join(work, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), 'version 1\n');
  writeFileSync(join(work, 'web.env'), '# settings\nGREETING=hello from the env file\n');
  const hp = await freePort();
  const id = ok('run', '-d', '--network', NET, '-p', `127.0.0.1:${hp}:80`, '-v', `${site}:/www:ro`, '--env-file', join(work, 'web.env'), '--name', 'web', '--restart', 'on-failure:3', '--memory', '64m', APP).trim();
  assert.match(id, /^[0-9a-f]{64}$/);

  // The page from the host; an edit on the host shows at once (a bind mount, not a copy).
  assert.equal(await fetchUntil(hp, '/', 'version 1\n'), 'version 1\n');
  writeFileSync(join(site, 'index.html'), 'version 2\n');
  assert.equal(await fetchUntil(hp, '/', 'version 2\n'), 'version 2\n');
  assert.match(berth('exec', 'web', 'sh', '-c', 'echo x > /www/new').stderr, /Read-only file system/);

  // Logs: httpd -v logs each response on stderr; --tail, and -f ending when the container does is tested below.
  const logs = berth('logs', 'web');
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stderr, /response:200/);
  assert.equal(berth('logs', '--tail', '1', 'web').stderr.trim().split('\n').length, 1);
  const follow = runCliAsync(berthBin, [...global(), 'logs', '-f', '--tail', '0', 'web']);

  // exec: in the container's namespaces, its VOLUME made, its limit in its cgroup (v2 or v1).
  assert.equal(ok('exec', 'web', 'cat', '/www/index.html'), 'version 2\n');
  assert.equal(ok('exec', 'web', 'sh', '-c', 'test -d /data && echo volume'), 'volume\n');
  assert.equal(ok('exec', 'web', 'sh', '-c', 'echo $GREETING'), 'hello from the env file\n');
  assert.equal(ok('exec', '--env-file', join(work, 'web.env'), '-e', 'GREETING=over it', 'web', 'sh', '-c', 'echo $GREETING'), 'over it\n', '-e after the file');
  assert.equal(ok('exec', 'web', 'sh', '-c', 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes').trim(), String(64 * 1024 * 1024));
  const stats = ok('stats', '--no-stream', 'web');
  assert.match(stats, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT/);
  assert.match(stats, new RegExp(`^${id.slice(0, 12)}\\s+web\\s+.*/ 64MiB`, 'm'));
  assert.match(ok('top', 'web'), /httpd -f -v -p 80 -h \/www/);

  // A second container on the network reaches web by its name.
  assert.equal(ok('run', '--rm', '--network', NET, BASE, 'wget', '-q', '-O', '-', 'http://web/'), 'version 2\n');
  assert.match(ok('ps'), new RegExp(`^${id.slice(0, 12)} .*Up .*127\\.0\\.0\\.1:${hp}->80/tcp\\s+web$`, 'm'));
  assert.equal(ok('ps', '--format', '{{.Names}} {{.State}} {{.Networks}} {{.Ports}}'), `web running ${NET} 127.0.0.1:${hp}->80/tcp\n`);

  // cp a file out.
  ok('exec', 'web', 'sh', '-c', 'echo report > /data/report.txt');
  ok('cp', 'web:/data/report.txt', join(work, 'report.txt'));
  assert.equal(readFileSync(join(work, 'report.txt'), 'utf8'), 'report\n');
  writeFileSync(join(work, 'seed.txt'), 'seed\n');
  ok('cp', join(work, 'seed.txt'), 'web:/data/');
  assert.equal(ok('exec', 'web', 'cat', '/data/seed.txt'), 'seed\n', 'cp into the volume');

  // A crash (the server killed from outside berth): the policy starts it again, on the same port.
  const crashed = initPid(id);
  process.kill(crashed, 'SIGKILL');
  for (const deadline = Date.now() + 30_000; (meta(id).restartCount ?? 0) < 1 || !existsSync(join(root, 'containers', id, 'init.pid')) || initPid(id) === crashed; ) {
    assert.ok(Date.now() < deadline, `never restarted: ${JSON.stringify(meta(id))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await fetchUntil(hp, '/', 'version 2\n'), 'version 2\n');
  assert.equal(JSON.parse(ok('inspect', '--type', 'container', 'web'))[0].RestartCount, 1);

  // stop: no restart after it; start and restart bring it back on the same port.
  const monitorGone = async (): Promise<void> => {
    const m = meta(id).monitor;
    if (m && processAlive(m.pid, m.startTime)) await untilGone(m.pid, m.startTime, 30_000);
  };
  ok('stop', '-t', '2', 'web');
  await monitorGone();
  assert.equal(JSON.parse(ok('inspect', '--type', 'container', 'web'))[0].State.Status, 'exited');
  assert.match((await follow).stderr, /response:200/, 'logs -f saw the requests after it started, and ended with the container');
  const final = berth('logs', 'web');
  assert.match(final.stderr, /response:200/, `the logs of a stopped container: ${JSON.stringify(final)}`);
  assert.equal(ok('start', 'web'), 'web\n');
  assert.equal(await fetchUntil(hp, '/', 'version 2\n'), 'version 2\n');
  assert.equal(JSON.parse(ok('inspect', '--type', 'container', 'web'))[0].RestartCount, 0, 'a start begins the count again');
  const before = initPid(id);
  assert.equal(ok('restart', '-t', '1', 'web'), 'web\n');
  assert.notEqual(initPid(id), before);
  assert.equal(await fetchUntil(hp, '/', 'version 2\n'), 'version 2\n');
  ok('stop', '-t', '2', 'web');
  await monitorGone();

  // rm, network rm.
  const veths = bridgePorts(BRIDGE);
  ok('rm', 'web');
  ok('network', 'rm', NET);

  // Nothing left.
  assert.deepEqual(existsSync(join(root, 'containers')) ? readdirSync(join(root, 'containers')) : [], []);
  assert.deepEqual(mountsUnder(work), [], 'no mount under the store or the site');
  assert.deepEqual(mountsUnder(join('/run/berth/netns', id)), []);
  assert.equal(linkExists(BRIDGE), false, 'the bridge');
  for (const v of veths) assert.equal(linkExists(v), false, `veth ${v}`);
  assert.deepEqual(rulesMentioning([subnet.prefix, id, NET]), [], 'no iptables rule of the network');
  assert.equal(execFileSync('find', ['/sys/fs/cgroup', '-maxdepth', '5', '-name', `*${id}*`], { encoding: 'utf8' }), '', 'no cgroup');
  assert.equal(processAlive(crashed), false);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      assert.ok(!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(id), `process ${pid} of the container`);
    } catch {
      // gone meanwhile
    }
  }
});
