// What a plugin receives: stdin config (name, cniVersion, prevResult, runtimeConfig), CNI_ARGS and
// the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeCapabilityArgs, runtimeConfigFor } from '../../../src/network/capabilities.ts';
import { formatCniArgs, pluginEnv, podCniArgs } from '../../../src/network/cni-args.ts';
import { validateContainerId, validateIfname } from '../../../src/network/cni-names.ts';
import { parseCniResult } from '../../../src/network/cni-result.ts';
import { parseConfList } from '../../../src/network/conflist.ts';
import { gcStdin, pluginStdin, statusStdin } from '../../../src/network/plugin-config.ts';

const LIST = parseConfList(
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'berth',
    plugins: [
      { type: 'bridge', name: 'ignored', cniVersion: '0.3.1', bridge: 'br0', ipam: { type: 'host-local', subnet: '10.9.0.0/24' } },
      { type: 'portmap', capabilities: { portMappings: true, bandwidth: false }, runtimeConfig: { written: 'in the file' } },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
      { type: 'firewall', runtimeConfig: { kept: true } },
    ],
  }),
  'test.conflist',
);

const PREV = parseCniResult(
  { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }], ips: [{ address: '10.9.0.2/24', gateway: '10.9.0.1', interface: 0 }] },
  '1.0.0',
);

test("every plugin gets the list's name and version over its own", () => {
  const conf = JSON.parse(pluginStdin(LIST, LIST.plugins[0]!));
  assert.equal(conf.name, 'berth');
  assert.equal(conf.cniVersion, '1.0.0');
  assert.equal(conf.bridge, 'br0');
  assert.deepEqual(conf.ipam, { type: 'host-local', subnet: '10.9.0.0/24' });
  assert.equal('prevResult' in conf, false);
  assert.equal('runtimeConfig' in conf, false);
});

test('prevResult is the previous result in the list version', () => {
  const conf = JSON.parse(pluginStdin(LIST, LIST.plugins[1]!, { prevResult: PREV }));
  assert.deepEqual(conf.prevResult, {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }],
    ips: [{ interface: 0, address: '10.9.0.2/24', gateway: '10.9.0.1' }],
  });
  const old = parseConfList(JSON.stringify({ cniVersion: '0.4.0', name: 'old', plugins: [{ type: 'portmap' }] }), 'old.conflist');
  const conf040 = JSON.parse(pluginStdin(old, old.plugins[0]!, { prevResult: PREV }));
  assert.equal(conf040.prevResult.cniVersion, '0.4.0');
  assert.equal(conf040.prevResult.ips[0].version, '4');
});

test('runtimeConfig holds only the capabilities a plugin declares', () => {
  const caps = normalizeCapabilityArgs({
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    bandwidth: { ingressRate: 1000000, ingressBurst: 20000 },
    dns: { servers: ['10.0.0.10'] },
  });
  const stdin = (i: number) => JSON.parse(pluginStdin(LIST, LIST.plugins[i]!, { capabilityArgs: caps }));
  assert.equal('runtimeConfig' in stdin(0), false);
  // The runtime's values replace what the file wrote (libcni's InjectConf), bandwidth: false is not declared.
  assert.deepEqual(stdin(1).runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
  assert.deepEqual(stdin(2).runtimeConfig, { bandwidth: { ingressRate: 1000000, ingressBurst: 20000 } });
  // No declared capability: the file's own runtimeConfig stays as written.
  assert.deepEqual(stdin(3).runtimeConfig, { kept: true });
  assert.deepEqual(runtimeConfigFor(['ipRanges', 'mac'], { mac: '02:00:00:00:00:01' }), { mac: '02:00:00:00:00:01' });
});

test('port mappings: only entries with a host port, protocol lower-cased, checked', () => {
  const caps = normalizeCapabilityArgs({
    portMappings: [
      { containerPort: 53, protocol: 'udp' },
      { hostPort: 0, containerPort: 80 },
      { hostPort: 8443, containerPort: 443, protocol: 'TCP' as 'tcp', hostIP: '127.0.0.1' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp' },
    ],
  });
  assert.deepEqual(caps.portMappings, [
    { hostPort: 8443, containerPort: 443, protocol: 'tcp', hostIP: '127.0.0.1' },
    { hostPort: 5353, containerPort: 53, protocol: 'udp' },
  ]);
  assert.deepEqual(normalizeCapabilityArgs({ portMappings: [{ containerPort: 80 }] }), {}, 'nothing published: no portMappings at all');
  assert.throws(() => normalizeCapabilityArgs({ portMappings: [{ hostPort: 70000, containerPort: 80 }] }), /portMappings\[0\]\.hostPort: 70000 is not a port/);
  assert.throws(() => normalizeCapabilityArgs({ portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'icmp' as 'tcp' }] }), /protocol: "icmp"/);
  assert.throws(() => normalizeCapabilityArgs({ portMappings: [{ hostPort: 80, containerPort: 80, hostIP: 'localhost' }] }), /hostIP: "localhost" is not an IP/);
});

test('other capabilities: empty ones are left out, others pass as given', () => {
  const caps = normalizeCapabilityArgs({
    bandwidth: {},
    ipRanges: [[{ subnet: '10.1.0.0/24', gateway: '10.1.0.1' }]],
    dns: {},
    ips: [],
    mac: 'c2:11:22:33:44:55',
    'io.kubernetes.cri.pod-annotations': { a: 'b' },
  });
  assert.deepEqual(caps, {
    ipRanges: [[{ subnet: '10.1.0.0/24', gateway: '10.1.0.1' }]],
    mac: 'c2:11:22:33:44:55',
    'io.kubernetes.cri.pod-annotations': { a: 'b' },
  });
  assert.throws(() => normalizeCapabilityArgs({ bandwidth: { egressRate: -1 } }), /bandwidth\.egressRate/);
});

test('GC and STATUS configs', () => {
  const gc = JSON.parse(gcStdin(LIST, LIST.plugins[0]!, [{ containerID: 'c1', ifname: 'eth0' }]));
  assert.deepEqual(gc['cni.dev/valid-attachments'], [{ containerID: 'c1', ifname: 'eth0' }]);
  assert.equal(gc.name, 'berth');
  const st = JSON.parse(statusStdin(LIST, LIST.plugins[0]!));
  assert.equal(st.cniVersion, '1.0.0');
  assert.equal(st.type, 'bridge');
});

test("CNI_ARGS for a pod: IgnoreUnknown first, then the K8S_ keys containerd and cri-o pass", () => {
  const args = podCniArgs({ namespace: 'default', name: 'web-0', sandboxId: 'abc123', uid: 'u-1' });
  assert.equal(formatCniArgs(args), 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=u-1');
  assert.equal(formatCniArgs([]), '');
  assert.equal(formatCniArgs([['IP', '10.0.0.5']]), 'IP=10.0.0.5');
  assert.throws(() => formatCniArgs([['A', 'x;B=y']]), /must not contain ";"/);
  assert.throws(() => formatCniArgs([['A=B', 'x']]), /key "A=B"/);
});

test('the environment: CNI_ variables over the inherited ones', () => {
  const env = pluginEnv(
    'ADD',
    { containerId: 'c1', netnsPath: '/run/netns/x', ifname: 'eth0', args: [['IgnoreUnknown', '1']] },
    ['/opt/cni/bin', '/usr/lib/cni'],
    { PATH: '/usr/sbin:/usr/bin', CNI_ARGS: 'stale=1', CNI_EXTRA: 'x' },
  );
  assert.deepEqual(env, {
    PATH: '/usr/sbin:/usr/bin',
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1',
    CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
  });
  const version = pluginEnv('VERSION', {}, ['/b'], {});
  assert.equal(version.CNI_NETNS, 'dummy');
  assert.equal(version.CNI_IFNAME, 'dummy');
  assert.equal(pluginEnv('DEL', { containerId: 'c1', ifname: 'eth0' }, ['/b'], {}).CNI_NETNS, '');
});

test('container ids and interface names follow the spec', () => {
  validateContainerId('0123abc_.-x');
  assert.throws(() => validateContainerId(''), /must not be empty/);
  assert.throws(() => validateContainerId('-x'), /must start with a letter or digit/);
  assert.throws(() => validateContainerId('a/b'), /container id "a\/b"/);
  validateIfname('eth0');
  validateIfname('a'.repeat(15));
  assert.throws(() => validateIfname('a'.repeat(16)), /longer than 15/);
  assert.throws(() => validateIfname('..'), /not allowed/);
  assert.throws(() => validateIfname('eth 0'), /whitespace/);
  assert.throws(() => validateIfname('eth:0'), /"\/", ":"/);
});
