// The executor's side of the CNI protocol, against executable test plugins (fake-plugins.ts):
// chaining, reverse DEL from the cache, rollback, timeouts, output limits, CHECK, GC, STATUS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { BerthError } from '../../../src/oci/errors.ts';
import { CniExecutor, type CniExecutorOptions } from '../../../src/network/cni-executor.ts';
import { CniPluginError } from '../../../src/network/cni-error.ts';
import { FakePlugins } from './fake-plugins.ts';

const NETNS = '/proc/self/ns/net';
const ATTACH = { containerId: 'ctr1', netnsPath: NETNS, ifname: 'eth0', args: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web']] as Array<[string, string]> };

const R1 = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: NETNS }], ips: [{ address: '10.1.0.2/24', gateway: '10.1.0.1', interface: 0 }] };
const R2 = { ...R1, ips: [...R1.ips, { address: 'fd00::2/64', interface: 0 }], dns: { nameservers: ['10.1.0.1'] } };

function withPlugins(names: string[], fn: (f: FakePlugins, exec: (o?: Partial<CniExecutorOptions>) => CniExecutor) => Promise<void>) {
  return async () => {
    const f = new FakePlugins(names);
    try {
      await fn(f, (o = {}) => new CniExecutor({ binDirs: ['/nonexistent', f.binDir], cacheDir: f.cacheDir, ...o }));
    } finally {
      f.cleanup();
    }
  };
}

test('ADD runs the plugins in order, each with the previous result; the last result is cached', withPlugins(['alpha', 'beta', 'gamma'], async (f, exec) => {
  f.behave('alpha', 'ADD', { out: R1 });
  f.behave('beta', 'ADD', { out: R2 });
  f.behave('gamma', 'ADD', { out: { ...R2, cniVersion: undefined } });
  const list = f.list([{ type: 'alpha', mtu: 1400 }, { type: 'beta', capabilities: { portMappings: true } }, { type: 'gamma', capabilities: { bandwidth: true } }]);
  const result = await exec().attach(list, { ...ATTACH, capabilities: { portMappings: [{ hostPort: 8080, containerPort: 80 }, { containerPort: 9090 }] } });
  assert.deepEqual(result.ips.map((i) => i.address), ['10.1.0.2/24', 'fd00::2/64']);
  assert.deepEqual(result.dns, { nameservers: ['10.1.0.1'] });

  const calls = f.takeCalls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.command}`), ['alpha ADD', 'beta ADD', 'gamma ADD']);
  assert.deepEqual(calls[0]!.stdin, { type: 'alpha', mtu: 1400, name: 'fakenet', cniVersion: '1.0.0' });
  assert.deepEqual(calls[1]!.stdin.prevResult, R1);
  assert.deepEqual(calls[1]!.stdin.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
  assert.deepEqual(calls[2]!.stdin.prevResult, R2);
  assert.equal('runtimeConfig' in calls[2]!.stdin, false, 'no bandwidth arguments were given');
  assert.deepEqual(calls[0]!.env, {
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'ctr1',
    CNI_IFNAME: 'eth0',
    CNI_NETNS: NETNS,
    CNI_PATH: `/nonexistent:${f.binDir}`,
  });

  const cacheFile = f.path('cache', 'results', 'fakenet-ctr1-eth0');
  assert.equal(statSync(cacheFile).mode & 0o777, 0o600);
  assert.equal(statSync(f.path('cache', 'results')).mode & 0o777, 0o700);
  const cached = JSON.parse(readFileSync(cacheFile, 'utf8'));
  assert.equal(cached.kind, 'cniCacheV1');
  assert.equal(Buffer.from(cached.config, 'base64').toString(), list.bytes);
  assert.deepEqual(cached.result, R2);
  assert.deepEqual(cached.cniArgs, ATTACH.args);
  assert.deepEqual(cached.capabilityArgs, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
  assert.equal(cached.netns, NETNS);
  await assert.rejects(exec().attach(list, ATTACH), (e: unknown) => e instanceof BerthError && e.kind === 'already-exists');
}));

test('DEL after a restart: a new executor with only the name runs the cached config in reverse with the cached result', withPlugins(['alpha', 'beta'], async (f, exec) => {
  f.behave('alpha', 'ADD', { out: R1 });
  f.behave('beta', 'ADD', { out: R2 });
  const list = f.list([{ type: 'alpha' }, { type: 'beta', capabilities: { portMappings: true } }]);
  await exec().attach(list, { ...ATTACH, capabilities: { portMappings: [{ hostPort: 8080, containerPort: 80 }] } });
  f.takeCalls();

  const restarted = exec();
  assert.deepEqual((await restarted.cachedResult('fakenet', 'ctr1', 'eth0'))?.ips.length, 2);
  assert.deepEqual((await restarted.cachedAttachments('ctr1')).map((a) => `${a.networkName}/${a.containerId}/${a.ifname}`), ['fakenet/ctr1/eth0']);
  assert.deepEqual(await restarted.detach('fakenet', { containerId: 'ctr1', ifname: 'eth0' }), { from: 'cache' });
  const calls = f.takeCalls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.command}`), ['beta DEL', 'alpha DEL']);
  for (const c of calls) assert.deepEqual(c.stdin.prevResult, R2);
  assert.deepEqual(calls[0]!.stdin.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }, 'cached capability arguments');
  assert.equal(calls[0]!.env.CNI_ARGS, 'IgnoreUnknown=1;K8S_POD_NAME=web', 'cached CNI_ARGS');
  assert.equal(calls[0]!.env.CNI_NETNS, NETNS);
  assert.equal(f.exists('cache', 'results', 'fakenet-ctr1-eth0'), false);

  // Again, with nothing cached: the given config, no prevResult. By name alone there is nothing to run.
  assert.deepEqual(await restarted.detach(list, { containerId: 'ctr1', ifname: 'eth0', netnsPath: NETNS }), { from: 'config' });
  const again = f.takeCalls();
  assert.deepEqual(again.map((c) => `${c.plugin} ${c.command}`), ['beta DEL', 'alpha DEL']);
  for (const c of again) assert.equal('prevResult' in c.stdin, false);
  assert.deepEqual(await restarted.detach('fakenet', { containerId: 'ctr1', ifname: 'eth0' }), { from: 'nothing' });
  assert.deepEqual(f.takeCalls(), []);
}));

test('DEL with the netns gone passes an empty CNI_NETNS; a corrupt cache is dropped and DEL runs without prevResult', withPlugins(['alpha'], async (f, exec) => {
  f.behave('alpha', 'ADD', { out: R1 });
  const list = f.list([{ type: 'alpha' }]);
  const gone = f.path('netns-was-here');
  writeFileSync(gone, ''); // a plain file: not a namespace
  await exec().attach(list, { ...ATTACH, netnsPath: gone });
  f.takeCalls();
  await exec().detach('fakenet', { containerId: 'ctr1', ifname: 'eth0' });
  const [del] = f.takeCalls();
  assert.equal(del!.env.CNI_NETNS, '');
  assert.deepEqual(del!.stdin.prevResult, R1);

  // A record without netns (older libcni): the cached container interface's sandbox names it.
  await exec().attach(list, ATTACH);
  const file = f.path('cache', 'results', 'fakenet-ctr1-eth0');
  const rec = JSON.parse(readFileSync(file, 'utf8'));
  delete rec.netns;
  writeFileSync(file, JSON.stringify(rec));
  f.takeCalls();
  await exec().detach('fakenet', { containerId: 'ctr1', ifname: 'eth0' });
  assert.equal(f.takeCalls()[0]!.env.CNI_NETNS, NETNS);

  await exec().attach(list, ATTACH);
  writeFileSync(f.path('cache', 'results', 'fakenet-ctr1-eth0'), '{"kind":"cniCacheV1", trunc');
  f.takeCalls();
  await exec().detach(list, { containerId: 'ctr1', ifname: 'eth0', netnsPath: NETNS });
  const [del2] = f.takeCalls();
  assert.equal('prevResult' in del2!.stdin, false);
  assert.equal(f.exists('cache', 'results', 'fakenet-ctr1-eth0'), false);
}));

test('a failed ADD is undone: DEL of the whole list in reverse, nothing cached, the error names the plugin', withPlugins(['alpha', 'beta', 'gamma'], async (f, exec) => {
  f.behave('alpha', 'ADD', { out: R1 });
  f.behave('beta', 'ADD', { rc: 1, out: { cniVersion: '1.0.0', code: 11, msg: 'address pool busy', details: 'retry later' } });
  const list = f.list([{ type: 'alpha' }, { type: 'beta' }, { type: 'gamma' }]);
  await assert.rejects(exec().attach(list, ATTACH), (e: unknown) => {
    assert.ok(e instanceof CniPluginError, String(e));
    assert.equal(e.code, 11);
    assert.equal(e.kind, 'unavailable');
    assert.equal(e.plugin, 'beta');
    assert.match(e.describe(), /CNI plugin beta ADD on network "fakenet" failed: address pool busy; retry later \(CNI error 11: try again later\).*plugins\[1\]/);
    return true;
  });
  const calls = f.takeCalls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.command}`), ['alpha ADD', 'beta ADD', 'gamma DEL', 'beta DEL', 'alpha DEL']);
  for (const c of calls.slice(2)) assert.equal('prevResult' in c.stdin, false);
  assert.equal(f.exists('cache', 'results', 'fakenet-ctr1-eth0'), false);
}));

test('while the ADD runs the attachment is already cached, without a result (a daemon killed meanwhile DELs it on restart)', withPlugins(['alpha'], async (f, exec) => {
  const seen = `${f.dir}/seen`;
  f.behave('alpha', 'ADD', { out: R1, script: `r="$state/cache/results/fakenet-ctr1-eth0"; if [ -f "$r" ]; then grep -q '"result"' "$r" && echo with-result > ${seen} || echo no-result > ${seen}; else echo none > ${seen}; fi` });
  const list = f.list([{ type: 'alpha' }]);
  await exec().attach(list, ATTACH);
  assert.equal(readFileSync(seen, 'utf8'), 'no-result\n');
  assert.deepEqual((await exec().cachedResult('fakenet', 'ctr1', 'eth0'))?.ips, R1.ips, 'the finished ADD cached its result');
}));

test('when undoing a failed ADD fails too, a record stays for a later detach to finish', withPlugins(['alpha', 'beta'], async (f, exec) => {
  f.behave('alpha', 'ADD', { out: R1 });
  f.behave('beta', 'ADD', { rc: 2, err: 'panic: no route\n' });
  f.behave('alpha', 'DEL', { rc: 1, out: { code: 5, msg: 'disk on fire' } });
  const list = f.list([{ type: 'alpha' }, { type: 'beta' }]);
  await assert.rejects(exec().attach(list, ATTACH), /CNI plugin beta ADD on network "fakenet" failed: "panic: no route", exit status 2; undoing the ADD failed too \(detach retries it\): CNI plugin alpha DEL .*disk on fire/);
  assert.ok(f.exists('cache', 'results', 'fakenet-ctr1-eth0'));
  await assert.rejects(exec().attach(list, ATTACH), /already attached/);
  f.behave('alpha', 'DEL', {});
  f.takeCalls();
  assert.deepEqual(await exec().detach('fakenet', { containerId: 'ctr1', ifname: 'eth0' }), { from: 'cache' });
  const calls = f.takeCalls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.command}`), ['beta DEL', 'alpha DEL']);
  assert.equal('prevResult' in calls[0]!.stdin, false, 'no ADD result was cached');
  assert.equal(f.exists('cache', 'results', 'fakenet-ctr1-eth0'), false);
}));

test('a failing DEL stops (as libcni) and keeps the cache for a retry', withPlugins(['alpha', 'beta'], async (f, exec) => {
  f.behave('alpha', 'ADD', { out: R1 });
  f.behave('beta', 'ADD', { out: R1 });
  f.behave('beta', 'DEL', { rc: 1, out: { code: 100, msg: 'iptables is locked' } });
  const list = f.list([{ type: 'alpha' }, { type: 'beta' }]);
  await exec().attach(list, ATTACH);
  f.takeCalls();
  await assert.rejects(exec().detach(list, ATTACH), /CNI plugin beta DEL on network "fakenet" failed: iptables is locked \(CNI error 100\)/);
  assert.deepEqual(f.takeCalls().map((c) => `${c.plugin} ${c.command}`), ['beta DEL']);
  assert.ok(f.exists('cache', 'results', 'fakenet-ctr1-eth0'));
  f.behave('beta', 'DEL', {});
  await exec().detach(list, ATTACH);
  assert.deepEqual(f.takeCalls().map((c) => `${c.plugin} ${c.command}`), ['beta DEL', 'alpha DEL']);
}));

test('a plugin that hangs is killed with what it started, after the timeout', withPlugins(['alpha'], async (f, exec) => {
  f.behave('alpha', 'ADD', { script: `sleep 60 & echo $! > "$state/child.pid"; wait` });
  const list = f.list([{ type: 'alpha' }]);
  const started = Date.now();
  await assert.rejects(exec({ pluginTimeoutMs: 400 }).attach(list, ATTACH), (e: unknown) => {
    assert.ok(e instanceof CniPluginError);
    assert.equal(e.kind, 'unavailable');
    assert.match(e.message, /alpha ADD .* did not finish within 400 ms and was killed/);
    return true;
  });
  assert.ok(Date.now() - started < 5000, 'bounded by the timeout');
  const child = Number(readFileSync(f.path('child.pid'), 'utf8'));
  // Dead once gone or a zombie (this machine's init may be slow to reap orphans).
  const running = () => {
    try {
      return readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
    } catch {
      return false;
    }
  };
  let alive = running();
  for (let i = 0; i < 50 && alive; i++) {
    await new Promise((r) => setTimeout(r, 20));
    alive = running();
  }
  assert.equal(alive, false, `the plugin's child ${child} was killed`);
}));

test('output beyond the limit kills the plugin; a result that is not JSON or missing is an error', withPlugins(['alpha'], async (f, exec) => {
  const list = f.list([{ type: 'alpha' }]);
  f.behave('alpha', 'ADD', { script: 'head -c 3000000 /dev/zero | tr "\\0" x' });
  await assert.rejects(exec({ maxOutputBytes: 65536 }).attach(list, ATTACH), /alpha ADD .*printed more than 65536 bytes and was killed/);
  f.behave('alpha', 'ADD', { out: 'IP=10.0.0.2' });
  await assert.rejects(exec().attach(list, ATTACH), /printed a result that is not JSON: "IP=10\.0\.0\.2"/);
  f.behave('alpha', 'ADD', {});
  await assert.rejects(exec().attach(list, ATTACH), /succeeded but printed no result/);
  f.behave('alpha', 'ADD', { out: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.300/24' }] } });
  await assert.rejects(exec().attach(list, ATTACH), /alpha \(plugins\[0\]\) ADD result: ips\[0\]\.address: "10\.0\.0\.300\/24" is not an address/);
}));

test('a missing plugin: an error naming it and the bin dirs, and the ADD is undone', withPlugins(['alpha', 'beta'], async (f, exec) => {
  f.behave('alpha', 'ADD', { out: R1 });
  const list = f.list([{ type: 'alpha' }, { type: 'nosuch' }]);
  await assert.rejects(exec().attach(list, ATTACH), (e: unknown) => {
    assert.ok(e instanceof BerthError);
    assert.equal(e.kind, 'not-found');
    assert.match(e.message, /network "fakenet": CNI plugin "nosuch" not found in \/nonexistent:/);
    assert.equal(e.where.field, 'plugins[1].type');
    return true;
  });
  // The missing plugin never added anything: the undo skips it and DELs the rest.
  assert.deepEqual(f.takeCalls().map((c) => `${c.plugin} ${c.command}`), ['alpha ADD', 'alpha DEL']);
  assert.equal(f.exists('cache', 'results', 'fakenet-ctr1-eth0'), false);
  // Missing at DEL time (uninstalled since): an error, and the record stays for a retry.
  f.behave('beta', 'ADD', { out: R1 });
  await exec().attach(f.list([{ type: 'alpha' }, { type: 'beta' }]), ATTACH);
  rmSync(f.path('bin', 'beta'));
  f.takeCalls();
  await assert.rejects(exec().detach('fakenet', { containerId: 'ctr1', ifname: 'eth0' }), /CNI plugin "beta" not found/);
  assert.deepEqual(f.takeCalls(), []);
  assert.ok(f.exists('cache', 'results', 'fakenet-ctr1-eth0'));
}));

test('CHECK: each plugin in order with the cached result; disableCheck and old versions', withPlugins(['alpha', 'beta'], async (f, exec) => {
  f.behave('alpha', 'ADD', { out: R1 });
  f.behave('beta', 'ADD', { out: R2 });
  const list = f.list([{ type: 'alpha' }, { type: 'beta' }]);
  await assert.rejects(exec().check(list, ATTACH), /no cached ADD result for container ctr1/);
  await exec().attach(list, ATTACH);
  f.takeCalls();
  await exec().check(list, { containerId: 'ctr1', netnsPath: NETNS, ifname: 'eth0' });
  const calls = f.takeCalls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.command}`), ['alpha CHECK', 'beta CHECK']);
  for (const c of calls) assert.deepEqual(c.stdin.prevResult, R2);
  assert.equal(calls[0]!.env.CNI_ARGS, 'IgnoreUnknown=1;K8S_POD_NAME=web', 'the cached arguments');
  f.behave('beta', 'CHECK', { rc: 1, out: { code: 3, msg: 'interface eth0 is gone' } });
  await assert.rejects(exec().check(list, ATTACH), (e: unknown) => e instanceof CniPluginError && e.kind === 'not-found');
  f.takeCalls();
  await exec().check(f.list([{ type: 'alpha' }, { type: 'beta' }], { disableCheck: true }), ATTACH);
  assert.deepEqual(f.takeCalls(), []);
  const old = f.list([{ type: 'alpha' }], { cniVersion: '0.3.1' });
  await assert.rejects(exec().check(old, ATTACH), (e: unknown) => e instanceof BerthError && e.kind === 'unimplemented');
}));

test('GC (1.1.0): stale cached attachments are detached, then each plugin gets the valid ones; STATUS', withPlugins(['alpha', 'beta'], async (f, exec) => {
  f.behave('alpha', 'ADD', { out: { ...R1, cniVersion: '1.1.0' } });
  f.behave('beta', 'ADD', { out: { ...R1, cniVersion: '1.1.0' } });
  const list = f.list([{ type: 'alpha' }, { type: 'beta' }], { cniVersion: '1.1.0' });
  for (const id of ['keep1', 'stale1', 'keep2']) await exec().attach(list, { ...ATTACH, containerId: id });
  f.takeCalls();
  await exec().gc(list, [{ containerId: 'keep1', ifname: 'eth0' }, { containerId: 'keep2', ifname: 'eth0' }]);
  const calls = f.takeCalls();
  assert.deepEqual(calls.map((c) => `${c.plugin} ${c.command} ${c.env.CNI_CONTAINERID}`), ['beta DEL stale1', 'alpha DEL stale1', 'alpha GC ', 'beta GC ']);
  assert.deepEqual(calls[2]!.stdin['cni.dev/valid-attachments'], [{ containerID: 'keep1', ifname: 'eth0' }, { containerID: 'keep2', ifname: 'eth0' }]);
  assert.deepEqual((await exec().cachedAttachments()).map((a) => a.containerId), ['keep1', 'keep2']);

  f.behave('beta', 'GC', { rc: 1, out: { code: 5, msg: 'cannot list leases' } });
  await assert.rejects(exec().gc(list, []), /CNI GC of network "fakenet": .*cannot list leases/);
  assert.deepEqual((await exec().cachedAttachments()).map((a) => a.containerId), [], 'the DELs ran despite the GC failure');
  f.takeCalls();
  await exec().gc(f.list([{ type: 'alpha' }], { cniVersion: '1.1.0', disableGC: true }), []);
  assert.deepEqual(f.takeCalls(), []);

  await exec().status(list);
  assert.deepEqual(f.takeCalls().map((c) => `${c.plugin} ${c.command}`), ['alpha STATUS', 'beta STATUS']);
  f.behave('alpha', 'STATUS', { rc: 1, out: { code: 50, msg: 'daemon not running' } });
  await assert.rejects(exec().status(list), (e: unknown) => e instanceof CniPluginError && e.code === 50 && e.kind === 'unavailable');
  await exec().status(f.list([{ type: 'alpha' }]));
  assert.equal(f.takeCalls().filter((c) => c.command === 'STATUS').length, 1, 'only the 1.1.0 list ran STATUS');
}));

test('VERSION and validate: installed plugins that speak the list version', withPlugins(['alpha', 'beta'], async (f, exec) => {
  f.behave('alpha', 'VERSION', { out: { cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] } });
  f.behave('beta', 'VERSION', { out: { cniVersion: '0.4.0', supportedVersions: ['0.3.1', '0.4.0'] } });
  assert.deepEqual(await exec().pluginVersions('alpha'), ['0.4.0', '1.0.0']);
  const [call] = f.takeCalls();
  assert.equal(call!.env.CNI_COMMAND, 'VERSION');
  assert.deepEqual(call!.stdin, { cniVersion: '1.1.0' });
  assert.deepEqual(await exec().validate(f.list([{ type: 'alpha', capabilities: { portMappings: true } }])), ['portMappings']);
  await assert.rejects(exec().validate(f.list([{ type: 'alpha' }, { type: 'beta' }, { type: 'gone' }])), /plugins\[1\] beta does not speak CNI 1\.0\.0 \(it speaks 0\.3\.1, 0\.4\.0\); plugins\[2\]: CNI plugin "gone" not found/);
}));

test('operations on one attachment queue; different attachments run side by side', withPlugins(['alpha'], async (f, exec) => {
  f.behave('alpha', 'ADD', { out: R1, script: 'sleep 0.3' });
  const list = f.list([{ type: 'alpha' }]);
  const e = exec();
  const started = Date.now();
  const [a, b, c] = await Promise.allSettled([e.attach(list, ATTACH), e.attach(list, ATTACH), e.attach(list, { ...ATTACH, containerId: 'other' })]);
  assert.equal(a.status, 'fulfilled');
  assert.equal(b.status, 'rejected', 'the second ADD saw the first one cached');
  assert.equal(c.status, 'fulfilled');
  assert.ok(Date.now() - started < 1500, 'the other container did not wait');
}));
