// `berth run`'s networks against the kernel: a published port answers from the host, containers
// of a user network reach each other by name (and their /etc/hosts follows them), none has only
// lo, host sees the host's interfaces, bad flags make nothing, a failed create leaves nothing, and
// once containers and networks are removed no bridge, veth, iptables rule, netns pin or CNI record
// remains. Networks, bridges and subnets are this test's own; the store and config dir are temporary.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, writeOciLayout, type Entry } from '../../fixtures/image/test-image.ts';
import { repoRoot, runCli, type RunResult } from '../../support/cli.ts';
import { ContainerService } from '../../../src/containers/index.ts';
import { findNetwork, networkPaths } from '../../../src/network/network-store.ts';
import { bridgePorts, freePort, freeSubnet, iptablesState, linkExists, removeIptablesLeftovers, removeLink, rulesMentioning, saveSysctl, uniqueId, fetchText } from './host-network.ts';

const skip = !existsSync('/usr/lib/cni/bridge') || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;

const uid = uniqueId();
const NET = `t14-${uid}`;
const BRIDGE = `b14u${uid}`;
const DEFAULT_BRIDGE = `b14d${uid}`;
const INTERNAL_BRIDGE = `b14i${uid}`;
let work: string;
let root: string;
let config: string;
let userSubnet: ReturnType<typeof freeSubnet>;
let defaultSubnet: ReturnType<typeof freeSubnet>;
let iptablesBefore: ReturnType<typeof iptablesState>;
const ipForward = skip ? undefined : saveSysctl('net.ipv4.ip_forward');
const berthBin = join(repoRoot, 'bin/berth');
const berth = (...args: string[]): RunResult => runCli(berthBin, ['--root', root, '--config', config, ...args], { timeoutMs: 60_000 });
const ok = (...args: string[]): string => {
  const r = berth(...args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const IMAGE = 'localhost/nettest:1';
const NETNS_DIR = '/run/berth/netns';
const ids = (): string[] => (existsSync(join(root, 'containers')) ? readdirSync(join(root, 'containers')) : []);
const cacheRecords = (): string[] => (existsSync(join(root, 'network/cache/results')) ? readdirSync(join(root, 'network/cache/results')) : []);
const mountsUnder = (dir: string): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'berth-test-runnet-'));
  root = join(work, 'store');
  config = join(work, 'config');
  iptablesBefore = iptablesState();
  userSubnet = freeSubnet();
  do defaultSubnet = freeSubnet();
  while (defaultSubnet.subnet === userSubnet.subnet);
  const T = 1700000000;
  const tools = ['sh', 'cat', 'sleep', 'httpd', 'wget', 'ping', 'ip', 'hostname', 'true'];
  const layer: Entry[] = [
    { name: 'bin/', type: 'dir', mtime: T },
    { name: 'bin/busybox', type: 'file', mode: 0o755, data: readFileSync('/bin/busybox'), mtime: T },
    ...tools.map((n): Entry => ({ name: `bin/${n}`, type: 'symlink', linkname: 'busybox', mtime: T })),
    { name: 'etc/', type: 'dir', mtime: T },
    { name: 'www/', type: 'dir', mtime: T },
    { name: 'www/index.html', type: 'file', data: 'hello from a berth container\n', mtime: T },
  ];
  const img = buildImage({ layers: [layer], cmd: ['httpd', '-f', '-p', '80', '-h', '/www'], env: ['PATH=/bin'], exposedPorts: ['80/tcp'] });
  writeOciLayout(img, join(work, 'layout'), 'x');
  ok('load', '-i', join(work, 'layout'));
  ok('tag', 'loaded:x', IMAGE);
  // The default network under this test's own bridge and subnet (it is made on first use otherwise).
  ok('network', 'create', '--interface-name', DEFAULT_BRIDGE, '--subnet', defaultSubnet.subnet, 'berth');
  ok('network', 'create', '--interface-name', BRIDGE, '--subnet', userSubnet.subnet, NET);
});

after(() => {
  if (skip) return;
  const pinned = ids();
  for (const id of pinned) berth('rm', '--force', id);
  for (const n of [NET, 'berth']) berth('network', 'rm', n);
  for (const line of mountsUnder(work)) execFileSync('umount', ['-l', line.split(' ')[4]!]);
  for (const id of pinned) {
    for (const line of mountsUnder(join(NETNS_DIR, id))) execFileSync('umount', ['-l', line.split(' ')[4]!]);
    rmSync(join(NETNS_DIR, id), { recursive: true, force: true });
  }
  removeIptablesLeftovers(iptablesBefore, [userSubnet.prefix, defaultSubnet.prefix, NET]);
  for (const b of [BRIDGE, DEFAULT_BRIDGE, INTERNAL_BRIDGE]) removeLink(b);
  ipForward?.restore();
  rmSync(work, { recursive: true, force: true });
});

/** The server in a just-started container may not listen yet: retried until a deadline. */
async function fetchWhenUp(port: number): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await fetchText(port);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('-p 127.0.0.1:HP:80 of busybox httpd answers from the host; -P publishes EXPOSE; port and ps show them', { skip }, async () => {
  const hp = await freePort();
  const id = ok('run', '-d', '--name', 'web', '-p', `127.0.0.1:${hp}:80`, IMAGE).trim();
  assert.equal(await fetchWhenUp(hp), 'hello from a berth container\n');
  assert.equal(ok('port', 'web'), `80/tcp -> 127.0.0.1:${hp}\n`);
  assert.equal(ok('port', 'web', '80/tcp'), `127.0.0.1:${hp}\n`);
  assert.match(berth('port', 'web', '81').stderr, /^berth: no public port "81\/tcp" published for web\b/);
  assert.match(ok('ps'), new RegExp(`^${id.slice(0, 12)} .*Up\\s+127\\.0\\.0\\.1:${hp}->80/tcp\\s+web$`, 'm'));
  const again = berth('run', '--rm', '-p', `${hp}:80`, IMAGE, 'true');
  assert.equal(again.stderr, `berth: --publish: host port ${hp}/tcp is already published by another container\n`);
  const veths = bridgePorts(DEFAULT_BRIDGE);
  assert.equal(veths.length, 1, 'one veth on the default bridge');

  const allId = ok('run', '-d', '--name', 'web-all', '-P', IMAGE).trim();
  const published = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(ok('port', 'web-all').trim());
  assert.ok(published, 'the EXPOSEd port is published on a free host port');
  assert.equal(await fetchWhenUp(Number(published[1])), 'hello from a berth container\n');

  ok('rm', '-f', 'web', 'web-all');
  assert.equal(linkExists(DEFAULT_BRIDGE), false, 'the bridge went with the last container');
  for (const v of veths) assert.equal(linkExists(v), false, `veth ${v} removed`);
  assert.deepEqual(rulesMentioning([defaultSubnet.prefix, id]), [], 'no iptables rule of the containers');
  // Only this test's pins: other stores' containers may be pinned under the same directory.
  for (const c of [id, allId]) {
    assert.equal(existsSync(join(NETNS_DIR, c)), false, 'no netns pin');
    assert.deepEqual(mountsUnder(join(NETNS_DIR, c)), []);
  }
  assert.deepEqual(cacheRecords(), []);
});

test('containers on a user network reach each other by name; /etc/hosts follows them as they come and go', { skip }, () => {
  ok('run', '-d', '--name', 'api', '--network', NET, IMAGE);
  ok('run', '-d', '--name', 'db', '--network', NET, '--hostname', 'dbhost', IMAGE, 'sleep', '600');
  const out = ok('run', '--rm', '--name', 'client', '--network', NET, IMAGE, 'sh', '-c', 'wget -qO- http://api/ && ping -c1 -W5 db >/dev/null && ping -c1 -W5 dbhost >/dev/null && echo reached');
  assert.equal(out, 'hello from a berth container\nreached\n');
  const apiHosts = ok('exec', 'api', 'cat', '/etc/hosts');
  assert.match(apiHosts, new RegExp(`^${userSubnet.prefix.replaceAll('.', '\\.')}\\d+\\tdb dbhost$`, 'm'));
  assert.doesNotMatch(apiHosts, /client/, 'the client left: its entry went with it');
  ok('rm', '-f', 'db');
  assert.doesNotMatch(ok('exec', 'api', 'cat', '/etc/hosts'), /\bdb\b/);
  ok('rm', '-f', 'api');
  assert.equal(linkExists(BRIDGE), false, 'the bridge went with the last container');
});

test('--network none has only lo, up; --network host sees the host interfaces', { skip }, () => {
  const none = ok('run', '--rm', '--network', 'none', '--hostname', 'box', '--add-host', 'db:10.1.2.3', IMAGE, 'sh', '-c', 'ip -o link; cat /etc/hosts; hostname');
  const links = none.split('\n').filter((l) => /^\d+: /.test(l));
  assert.equal(links.length, 1, none);
  assert.match(links[0]!, /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  assert.match(none, /^10\.1\.2\.3\tdb$/m);
  assert.match(none, /^127\.0\.0\.1\tbox [0-9a-f]{12}$/m);
  assert.match(none, /^box$/m);
  // Other tests on this machine add and remove interfaces meanwhile: what stayed is seen, nothing unknown is.
  const before = new Set(readdirSync('/sys/class/net'));
  const host = ok('run', '--rm', '--network', 'host', IMAGE, 'ip', '-o', 'link');
  const after = new Set(readdirSync('/sys/class/net'));
  const seen = new Set(host.split('\n').filter(Boolean).map((l) => l.split(': ')[1]!.split('@')[0]!));
  for (const name of before) if (after.has(name)) assert.ok(seen.has(name), `${name} seen from the container`);
  for (const name of seen) assert.ok(before.has(name) || after.has(name), `${name} is a host interface`);
  assert.ok(seen.has('eth0') || seen.size > 1, host);
  assert.deepEqual(cacheRecords(), []);
});

test('an unknown network, a bad -p or a host port in use: one line naming the flag, nothing made', { skip }, async () => {
  const before = { ids: ids(), bridges: [linkExists(BRIDGE), linkExists(DEFAULT_BRIDGE)] };
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const busyPort = (busy.address() as { port: number }).port;
  try {
    const cases: Array<[string[], RegExp]> = [
      [['--network', 'no-such-net'], /^berth: --network: no such network: "no-such-net" \(see berth network ls\)\n$/],
      [['-p', '80:99999'], /^berth: --publish: "80:99999": container port "99999" is not a port/],
      [['-p', `127.0.0.1:${busyPort}:80`], new RegExp(`^berth: --publish: host port 127\\.0\\.0\\.1:${busyPort}/tcp is already in use\\n$`)],
      [['--network', 'host', '-p', '80'], /^berth: --publish: a container with --network host has no ports to publish\n$/],
      [['--dns', 'resolver'], /^berth: --dns: "resolver" is not an IP address\n$/],
      [['--add-host', 'nocolon'], /^berth: --add-host: "nocolon" is not NAME:IP\n$/],
    ];
    for (const [flags, message] of cases) {
      const r = berth('run', '--rm', ...flags, IMAGE, 'true');
      assert.notEqual(r.code, 0, flags.join(' '));
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').length, 2, 'one line');
    }
  } finally {
    busy.close();
  }
  assert.deepEqual(ids(), before.ids);
  assert.deepEqual([linkExists(BRIDGE), linkExists(DEFAULT_BRIDGE)], before.bridges, 'no bridge made');
  assert.deepEqual(cacheRecords(), []);
});

test('a create that fails after the network was set up leaves no veth, rule, record, pin or mount', { skip }, async () => {
  const service = ContainerService.open({ root, beforeStep: (s) => { if (s === 'mount') throw new Error('injected failure'); } });
  const paths = networkPaths(config, root);
  try {
    await assert.rejects(
      service.create({
        image: IMAGE,
        id: `f${'0'.repeat(62)}1`,
        spec: (p) => ({ ociVersion: '1.0.2', process: { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } }, root: { path: 'rootfs' }, hostname: 'failing', linux: { namespaces: [{ type: 'network' }, { type: 'mount' }] }, mounts: [] }),
        network: { mode: 'bridge', list: findNetwork(paths, NET).list, ports: [{ hostPort: await freePort(), containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }], cacheDir: paths.cacheDir, locksDir: paths.locksDir, netnsDir: paths.netnsDir },
      }),
      /injected failure/,
    );
  } finally {
    service.close();
  }
  assert.deepEqual(ids(), []);
  assert.equal(linkExists(BRIDGE), false, 'the bridge the failed create made is gone');
  assert.deepEqual(cacheRecords(), []);
  assert.deepEqual(rulesMentioning([userSubnet.prefix, 'f0000000']), []);
  assert.equal(existsSync(join(NETNS_DIR, `f${'0'.repeat(62)}1`)), false, 'no netns pin');
  assert.deepEqual(mountsUnder(root), []);
});

test('--internal: the container has its subnet and no route out', { skip }, () => {
  let subnet: ReturnType<typeof freeSubnet>;
  do subnet = freeSubnet();
  while (subnet.subnet === userSubnet.subnet || subnet.subnet === defaultSubnet.subnet);
  const name = `t14i-${uid}`;
  ok('network', 'create', '--internal', '--interface-name', INTERNAL_BRIDGE, '--subnet', subnet.subnet, name);
  try {
    const routes = ok('run', '--rm', '--network', name, IMAGE, 'ip', 'route');
    assert.doesNotMatch(routes, /^default/m);
    assert.match(routes, new RegExp(`^${subnet.subnet.replaceAll('.', '\\.')} dev eth0`, 'm'));
    assert.match(ok('network', 'inspect', name), /"internal": true/);
  } finally {
    berth('network', 'rm', name);
    removeIptablesLeftovers(iptablesBefore, [subnet.prefix, name]);
  }
  assert.equal(linkExists(INTERNAL_BRIDGE), false);
});

test('network ls, inspect and rm: a network in use stays; removed, its bridge goes and nothing of the containers remains', { skip }, () => {
  const listed = JSON.parse(ok('network', 'ls', '--format', 'json')) as Array<{ name: string; subnet: string; interface: string }>;
  assert.deepEqual(listed.map((n) => [n.name, n.subnet, n.interface]).sort(), [['berth', defaultSubnet.subnet, DEFAULT_BRIDGE], [NET, userSubnet.subnet, BRIDGE]].sort());
  ok('run', '-d', '--name', 'member', '--network', NET, IMAGE, 'sleep', '600');
  const [inspected] = JSON.parse(ok('network', 'inspect', NET)) as Array<{ containers: Record<string, { name: string; ipv4Address: string }> }>;
  assert.deepEqual(Object.values(inspected!.containers).map((c) => c.name), ['member']);
  assert.match(berth('network', 'rm', NET).stderr, /^berth: network "t14-\w+" is used by container\(s\) member: remove them first\n$/);
  assert.equal(linkExists(BRIDGE), true);
  ok('rm', '-f', 'member');
  assert.equal(linkExists(BRIDGE), false, 'the bridge went with the last container');
  ok('network', 'rm', NET, 'berth');
  assert.match(berth('network', 'inspect', NET).stderr, /no such network/);
  assert.deepEqual(rulesMentioning([userSubnet.prefix, defaultSubnet.prefix]), []);
  assert.deepEqual(cacheRecords(), []);
  assert.deepEqual(mountsUnder(work), [], 'no netns pin or rootfs mount left');
  assert.equal(existsSync(join(config, 'networks/ipam', NET)), false, 'leases removed');
  assert.deepEqual(readdirSync(join(config, 'networks')).filter((f) => f.endsWith('.conflist')), []);
});
