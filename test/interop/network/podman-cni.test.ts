// podman 4.3 (CNI backend) runs a container through its own libcni; berth then reads the result
// cache libcni wrote, CHECKs the attachment and DELs it from that cache alone, and podman's own
// DEL afterwards still succeeds. The record format is libcni's, so the two can share a cache dir.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCacheRecord, encodeCacheRecord } from '../../../src/network/cache-record.ts';
import { CniExecutor } from '../../../src/network/cni-executor.ts';
import { containerAddresses } from '../../../src/network/cni-result.ts';
import { loadNetwork } from '../../../src/network/conf-dir.ts';
import { repoRoot } from '../../support/cli.ts';
import { findOnPath, PodmanEnv } from '../runtime/podman-env.ts';
import {
  bridgePorts,
  freePort,
  freeSubnet,
  iptablesState,
  removeIptablesLeftovers,
  removeLink,
  rulesMentioning,
  saveSysctl,
  uniqueId,
} from '../../integration/network/host-network.ts';

const BIN_DIR = '/usr/lib/cni';
// podman 4.3's libcni has no cache dir setting: it always uses libcni's default.
const LIBCNI_CACHE = '/var/lib/cni';
const runcBin = findOnPath('runc');
const skip =
  !findOnPath('podman') || !runcBin ? 'needs podman and runc'
  : process.getuid?.() !== 0 ? 'needs root'
  : !existsSync(join(BIN_DIR, 'bridge')) ? 'needs containernetworking-plugins'
  : false;

const IMAGE = 'localhost/busybox:cni';
const id = uniqueId();
const network = `berth-pm-${id}`;
const bridge = `bpm${id}`;
const subnet = freeSubnet();
let pm: PodmanEnv;
let iptablesBefore: ReturnType<typeof iptablesState>;
let ipForward: ReturnType<typeof saveSysctl>;
const cacheExisted = existsSync(LIBCNI_CACHE);

before(() => {
  if (skip) return;
  ipForward = saveSysctl('net.ipv4.ip_forward');
  iptablesBefore = iptablesState();
  pm = PodmanEnv.create({ runtimes: { runc: runcBin! } });
  const tarball = join(pm.dir, 'busybox.tar.gz');
  execFileSync(join(repoRoot, 'scripts/make-busybox-rootfs.sh'), [tarball]);
  const r = pm.importImage(tarball, IMAGE);
  assert.equal(r.code, 0, `podman import failed: ${r.stderr}`);
  rmSync(tarball);
  mkdirSync(join(pm.dir, 'ipam'));
  writeFileSync(
    join(pm.dir, 'networks', `90-${network}.conflist`),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: network,
      plugins: [
        { type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: subnet.subnet, gateway: subnet.gateway }]], dataDir: join(pm.dir, 'ipam') } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
});

after(() => {
  if (skip || !pm) return;
  const forced = pm.cleanup();
  removeLink(bridge);
  removeIptablesLeftovers(iptablesBefore, [subnet.prefix, bridge]);
  ipForward.restore();
  const results = join(LIBCNI_CACHE, 'results');
  for (const f of existsSync(results) ? readdirSync(results) : []) if (f.startsWith(`${network}-`)) rmSync(join(results, f));
  if (!cacheExisted) {
    // Only if still empty: another podman may be using it by now.
    for (const d of [results, LIBCNI_CACHE]) {
      try {
        rmdirSync(d);
      } catch {
        // not empty, or gone
      }
    }
  }
  assert.deepEqual(forced, [], 'podman cleanup had to force these');
});

test("berth DELs an attachment podman's libcni made, from libcni's cache alone; podman's DEL then succeeds", { skip }, async () => {
  const hostPort = await freePort();
  const run = pm.podman(['run', '-d', '--network', network, '-p', `127.0.0.1:${hostPort}:80`, '--cgroup-parent', pm.cgroupParent, IMAGE, 'sleep', '300']);
  assert.equal(run.code, 0, run.stderr);
  const cid = run.stdout.trim();
  const ip = pm.podman(['inspect', '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, cid]).stdout.trim();
  assert.ok(ip.startsWith(subnet.prefix), `podman's address ${ip}`);

  // The record libcni wrote: berth reads it and writes the same JSON back.
  const file = join(LIBCNI_CACHE, 'results', `${network}-${cid}-eth0`);
  const text = readFileSync(file, 'utf8');
  const rec = decodeCacheRecord(text, { networkName: network, containerId: cid, ifname: 'eth0' });
  assert.ok(rec, text);
  assert.deepEqual(JSON.parse(encodeCacheRecord(rec)), JSON.parse(text));
  assert.equal(JSON.parse(rec.config!).name, network);
  assert.deepEqual((rec.capabilityArgs as { portMappings: unknown }).portMappings, [{ hostIP: '127.0.0.1', hostPort, containerPort: 80, protocol: 'tcp' }]);

  const cni = new CniExecutor({ binDirs: [BIN_DIR], cacheDir: LIBCNI_CACHE });
  const cached = await cni.cachedResult(network, cid, 'eth0');
  assert.deepEqual(containerAddresses(cached!, 'eth0').map((a) => a.address), [`${ip}/24`]);
  const netnsPath = cached!.interfaces.find((i) => i.name === 'eth0')!.sandbox!;
  const list = await loadNetwork(join(pm.dir, 'networks'), network);
  // bridge + host-local only: Debian's portmap fails CHECK on IPv4-only attachments (plugins#819).
  await cni.check({ ...list, plugins: list.plugins.filter((p) => p.type === 'bridge') }, { containerId: cid, netnsPath, ifname: 'eth0' });
  assert.ok(rulesMentioning([ip]).length > 0, "portmap's rules for podman's port");

  assert.deepEqual(await cni.detach(network, { containerId: cid, ifname: 'eth0' }), { from: 'cache' });
  assert.equal(existsSync(file), false);
  assert.deepEqual(bridgePorts(bridge), []);
  assert.deepEqual(rulesMentioning([ip, cid]), []);
  assert.deepEqual(readdirSync(join(pm.dir, 'ipam', network)).filter((f) => f.startsWith(subnet.prefix)), [], 'the lease is released');

  const rm = pm.podman(['rm', '--force', '--time', '0', cid]);
  assert.equal(rm.code, 0, `podman's own DEL after berth's: ${rm.stderr}`);
});
