// Debian's CNI plugins (containernetworking-plugins, /usr/lib/cni) run by berth's executor:
// bridge + host-local + portmap + firewall on a bridge, subnet, netns and data dir of this test's
// own. Everything is taken down after each test, also when it fails.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniExecutor } from '../../../src/network/cni-executor.ts';
import { CniPluginError } from '../../../src/network/cni-error.ts';
import { containerAddresses } from '../../../src/network/cni-result.ts';
import { loadNetwork } from '../../../src/network/conf-dir.ts';
import type { NetworkConfigList } from '../../../src/network/conflist.ts';
import {
  addNetns,
  bridgePorts,
  freePort,
  freeSubnet,
  iptablesState,
  linkExists,
  readSysctl,
  removeIptablesLeftovers,
  removeLink,
  removeNetns,
  rulesMentioning,
  saveSysctl,
  uniqueId,
} from './host-network.ts';

const BIN_DIR = process.env.BERTH_CNI_BIN_DIR ?? '/usr/lib/cni';
const skip = !existsSync(join(BIN_DIR, 'bridge')) || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;

// The bridge plugin turns on ip_forward for a gateway bridge; the host gets its value back.
const ipForward = skip ? undefined : saveSysctl('net.ipv4.ip_forward');
after(() => ipForward?.restore());

interface Env {
  id: string;
  bridge: string;
  netns: string;
  netnsPath: string;
  subnet: ReturnType<typeof freeSubnet>;
  dir: string;
  dataDir: string;
  list: NetworkConfigList;
  executor: () => CniExecutor;
  www: string;
}

/** A test's own network: conf dir, cache dir, host-local data dir, bridge, subnet and netns. */
function withNetwork(opts: { ipMasq: boolean }, fn: (env: Env) => Promise<void>) {
  return async () => {
    const id = uniqueId();
    const dir = mkdtempSync(join(tmpdir(), `berth-cni-${id}-`));
    const env = {
      id,
      bridge: `bcni${id}`,
      netns: `berth-cni-${id}`,
      subnet: freeSubnet(),
      dir,
      dataDir: join(dir, 'ipam'),
      www: join(dir, 'www'),
    } as Env;
    const before = iptablesState();
    const processes: ChildProcess[] = [];
    try {
      mkdirSync(join(dir, 'net.d'));
      mkdirSync(env.www);
      writeFileSync(
        join(dir, 'net.d', '10-test.conflist'),
        JSON.stringify({
          cniVersion: '1.0.0',
          name: `berth-test-${id}`,
          plugins: [
            {
              type: 'bridge',
              bridge: env.bridge,
              isGateway: true,
              ipMasq: opts.ipMasq,
              hairpinMode: true,
              ipam: { type: 'host-local', ranges: [[{ subnet: env.subnet.subnet, gateway: env.subnet.gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: env.dataDir },
            },
            { type: 'portmap', capabilities: { portMappings: true } },
            { type: 'firewall', backend: 'iptables' },
          ],
        }),
      );
      env.list = await loadNetwork(join(dir, 'net.d'));
      env.executor = () => new CniExecutor({ binDirs: [BIN_DIR], cacheDir: join(dir, 'cache'), confDir: join(dir, 'net.d') });
      env.netnsPath = addNetns(env.netns);
      (env as Env & { spawnIn: typeof spawnIn }).spawnIn = spawnIn;
      await fn(env);
    } finally {
      for (const p of processes) p.kill('SIGKILL');
      if (env.list) await env.executor().detach(env.list, { containerId: `ctr-${id}`, ifname: 'eth0', netnsPath: env.netnsPath }).catch(() => {});
      removeNetns(env.netns);
      removeLink(env.bridge);
      removeIptablesLeftovers(before, [`ctr-${id}`, env.subnet.prefix, env.bridge]);
      rmSync(dir, { recursive: true, force: true });
    }

    function spawnIn(args: string[]): ChildProcess {
      const p = spawn('ip', ['netns', 'exec', env.netns, ...args], { stdio: 'ignore' });
      processes.push(p);
      return p;
    }
  };
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

async function eventually(url: string): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 40; i++) {
    try {
      return await httpGet(url);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw last;
}

const leaseFiles = (env: Env) => {
  const d = join(env.dataDir, env.list.name);
  return existsSync(d) ? readdirSync(d).filter((f) => f.startsWith(env.subnet.prefix)) : [];
};

test('ADD: an address reachable from the host, a host port on 127.0.0.1; CHECK; DEL after a restart removes it all', { skip }, withNetwork({ ipMasq: true }, async (env) => {
  const containerId = `ctr-${env.id}`;
  const hostPort = await freePort();
  const result = await env.executor().attach(env.list, {
    containerId,
    netnsPath: env.netnsPath,
    ifname: 'eth0',
    args: [['IgnoreUnknown', '1'], ['K8S_POD_NAMESPACE', 'default'], ['K8S_POD_NAME', `web-${env.id}`]],
    capabilities: { portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp', hostIP: '127.0.0.1' }, { containerPort: 9090 }] },
  });
  const [addr] = containerAddresses(result, 'eth0');
  assert.ok(addr, JSON.stringify(result));
  const ip = addr.address.split('/')[0]!;
  assert.ok(ip.startsWith(env.subnet.prefix), `${ip} in ${env.subnet.subnet}`);
  assert.equal(addr.gateway, env.subnet.gateway);
  assert.ok(linkExists('eth0', env.netns));
  assert.equal(bridgePorts(env.bridge).length, 1, 'one veth on the bridge');
  assert.deepEqual(leaseFiles(env), [ip]);
  assert.equal(readSysctl('net.ipv4.ip_forward'), '1');
  // portmap sets route_localnet on the bridge so that 127.0.0.1 may be DNATed across it.
  assert.equal(readSysctl(`net.ipv4.conf.${env.bridge}.route_localnet`), '1');
  assert.ok(rulesMentioning([ip]).length >= 3, 'firewall and portmap rules for the address');
  assert.ok(rulesMentioning([containerId]).length >= 1);

  // A web server inside the namespace, on the container's address only.
  writeFileSync(join(env.www, 'index.html'), `hello from ${env.id}\n`);
  (env as Env & { spawnIn: (a: string[]) => ChildProcess }).spawnIn(['busybox', 'httpd', '-f', '-p', `${ip}:8080`, '-h', env.www]);
  assert.equal(await eventually(`http://${ip}:8080/index.html`), `hello from ${env.id}\n`);
  assert.equal(await eventually(`http://127.0.0.1:${hostPort}/index.html`), `hello from ${env.id}\n`);

  // CHECK: bridge (with host-local) and firewall confirm the attachment. Debian's portmap 1.1.1
  // fails CHECK on an IPv4-only attachment by looking for ip6tables rules it never made
  // (containernetworking/plugins#819, fixed upstream later): accept exactly that failure.
  const checked = { containerId, netnsPath: env.netnsPath, ifname: 'eth0' };
  await env.executor().check({ ...env.list, plugins: env.list.plugins.filter((p) => p.type !== 'portmap') }, checked);
  await env.executor().check(env.list, checked).catch((err: unknown) => {
    if (!(err instanceof CniPluginError && err.plugin === 'portmap' && /could not check ipv6 dnat/.test(err.message))) throw err;
  });

  // A restart: a new executor, the attachment named and nothing else.
  assert.deepEqual(await env.executor().detach(env.list.name, { containerId, ifname: 'eth0' }), { from: 'cache' });
  assert.equal(linkExists('eth0', env.netns), false);
  assert.deepEqual(bridgePorts(env.bridge), []);
  assert.deepEqual(leaseFiles(env), []);
  assert.deepEqual(rulesMentioning([ip, containerId]), []);
  assert.equal(existsSync(join(env.dir, 'cache', 'results', `${env.list.name}-${containerId}-eth0`)), false);
  await assert.rejects(httpGet(`http://127.0.0.1:${hostPort}/index.html`));

  // DEL twice: nothing cached, the conf dir's config, no prevResult; the plugins find nothing to do.
  assert.deepEqual(await env.executor().detach(env.list.name, { containerId, ifname: 'eth0', netnsPath: env.netnsPath }), { from: 'config' });
  assert.deepEqual(await env.executor().detach(env.list, { containerId, ifname: 'eth0' }), { from: 'config' });
}));

test('DEL of a pod whose netns is already gone (stuck terminating) releases the lease and the rules', { skip }, withNetwork({ ipMasq: false }, async (env) => {
  const containerId = `ctr-${env.id}`;
  const hostPort = await freePort();
  const result = await env.executor().attach(env.list, {
    containerId,
    netnsPath: env.netnsPath,
    ifname: 'eth0',
    capabilities: { portMappings: [{ hostPort, containerPort: 80, hostIP: '127.0.0.1' }] },
  });
  const ip = containerAddresses(result, 'eth0')[0]!.address.split('/')[0]!;
  assert.ok(rulesMentioning([ip]).length > 0);
  removeNetns(env.netns);
  assert.deepEqual(await env.executor().detach(env.list.name, { containerId, ifname: 'eth0' }), { from: 'cache' });
  assert.deepEqual(leaseFiles(env), []);
  assert.deepEqual(rulesMentioning([ip, containerId]), []);
  assert.deepEqual(bridgePorts(env.bridge), [], 'the veth went with the netns');
  assert.deepEqual(await env.executor().detach(env.list.name, { containerId, ifname: 'eth0' }), { from: 'config' });
}));

test('the plugins speak the version the test network uses', { skip }, async () => {
  const exec = new CniExecutor({ binDirs: [BIN_DIR], cacheDir: mkdtempSync(join(tmpdir(), 'berth-cni-v-')) });
  try {
    for (const p of ['bridge', 'host-local', 'portmap', 'firewall']) assert.ok((await exec.pluginVersions(p)).includes('1.0.0'), p);
  } finally {
    rmSync(exec.cache.cacheDir, { recursive: true, force: true });
  }
});
