// berth's bridge networks, the pure parts: IPv4 subnets and the kernel's route table, the choice of
// a free subnet and bridge name, the generated conflist and its reading back, docker's -p notation
// and how `port` and `ps` print mappings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeConfList, bridgeNetworkOf, type BridgeNetwork } from '../../../src/network/bridge-network.ts';
import { parseConfList } from '../../../src/network/conflist.ts';
import { chooseSubnet, formatSubnet, overlaps, parseProcNetRoute, parseSubnet } from '../../../src/network/ipv4-subnet.ts';
import { planNetwork } from '../../../src/network/network-store.ts';
import { exposedPorts, parsePublish, portLines, portsColumn, withExposed } from '../../../src/network/port-spec.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const fails = (fn: () => unknown, field: string, message: RegExp): void => {
  assert.throws(fn, (err: unknown) => err instanceof BerthError && err.where.field === field && message.test(err.message));
};

test('subnets: parsed, host bits refused, overlaps both ways', () => {
  assert.equal(formatSubnet(parseSubnet('10.90.3.0/24')), '10.90.3.0/24');
  fails(() => parseSubnet('10.90.3.1/24'), '--subnet', /host bits set \(did you mean 10\.90\.3\.0\/24\?\)/);
  fails(() => parseSubnet('10.90.3.0'), '--subnet', /not an IPv4 subnet/);
  fails(() => parseSubnet('10.90.300.0/24'), '--subnet', /not an IPv4 subnet/);
  fails(() => parseSubnet('10.0.0.0/31'), '--subnet', /not an IPv4 subnet/);
  assert.equal(overlaps(parseSubnet('10.0.0.0/8'), parseSubnet('10.90.1.0/24')), true);
  assert.equal(overlaps(parseSubnet('10.90.1.0/24'), parseSubnet('10.0.0.0/8')), true);
  assert.equal(overlaps(parseSubnet('10.90.1.0/24'), parseSubnet('10.90.2.0/24')), false);
});

test("/proc/net/route: destinations and masks in the kernel's byte order, default routes left out", () => {
  const text = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'br0\t00005A0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    '',
  ].join('\n');
  assert.deepEqual(parseProcNetRoute(text).map(formatSubnet), ['192.0.2.0/24', '10.90.0.0/16']);
});

test('the chosen subnet is the first /24 of 10.90.0.0/16 that no route or network touches', () => {
  assert.equal(formatSubnet(chooseSubnet([])), '10.90.0.0/24');
  assert.equal(formatSubnet(chooseSubnet([parseSubnet('10.90.0.0/24'), parseSubnet('10.90.1.0/25')])), '10.90.2.0/24');
  assert.equal(formatSubnet(chooseSubnet([parseSubnet('10.90.0.0/23'), parseSubnet('192.168.0.0/16')])), '10.90.2.0/24');
  fails(() => chooseSubnet([parseSubnet('10.0.0.0/8')]), '--subnet', /every \/24 of 10\.90\.0\.0\/16 is used/);
});

const facts = (over: Partial<Parameters<typeof planNetwork>[1]> = {}): Parameters<typeof planNetwork>[1] => ({ networks: [], routes: [], interfaces: ['lo', 'eth0'], ipamDir: '/store/network/ipam', ...over });
const existing: BridgeNetwork = { name: 'front', bridge: 'berth0', subnet: '10.90.0.0/24', gateway: '10.90.0.1', internal: false, ipamDir: '/x' };

test('a new network: subnet, gateway and bridge chosen free, or the given ones checked', () => {
  assert.deepEqual(planNetwork({ name: 'back' }, facts({ networks: [existing], interfaces: ['lo', 'berth1'] })), {
    name: 'back',
    bridge: 'berth2',
    subnet: '10.90.1.0/24',
    gateway: '10.90.1.1',
    internal: false,
    ipamDir: '/store/network/ipam',
  });
  const given = planNetwork({ name: 'db', subnet: '172.30.5.0/24', gateway: '172.30.5.254', internal: true, bridge: 'dbbr' }, facts());
  assert.equal(given.gateway, '172.30.5.254');
  assert.equal(given.internal, true);
  assert.equal(given.bridge, 'dbbr');
  fails(() => planNetwork({ name: 'x', subnet: '10.90.0.128/25' }, facts({ networks: [existing] })), '--subnet', /overlaps network "front"/);
  fails(() => planNetwork({ name: 'x', subnet: '192.0.2.0/24' }, facts({ routes: [parseSubnet('192.0.2.0/24')] })), '--subnet', /overlaps the host's route to 192\.0\.2\.0\/24/);
  fails(() => planNetwork({ name: 'x', subnet: '10.1.0.0/24', gateway: '10.2.0.1' }, facts()), '--gateway', /not a host address of 10\.1\.0\.0\/24/);
  fails(() => planNetwork({ name: 'x', subnet: '10.1.0.0/24', gateway: '10.1.0.255' }, facts()), '--gateway', /not a host address/);
  fails(() => planNetwork({ name: 'x', gateway: '10.1.0.1' }, facts()), '--gateway', /needs --subnet/);
  fails(() => planNetwork({ name: 'x', bridge: 'eth0' }, facts()), '--interface-name', /already an interface/);
  fails(() => planNetwork({ name: 'front' }, facts({ networks: [existing] })), 'name', /already exists/);
  fails(() => planNetwork({ name: '../etc' }, facts()), 'name', /must start with a letter or digit/);
});

test('the conflist: bridge with host-local, portmap, firewall; an internal one neither routes out nor masquerades; read back as written', () => {
  const list = bridgeConfList(existing) as { cniVersion: string; plugins: Array<Record<string, unknown>> };
  assert.equal(list.cniVersion, '1.0.0');
  assert.deepEqual(list.plugins.map((p) => p.type), ['bridge', 'portmap', 'firewall']);
  assert.deepEqual(list.plugins[0], {
    type: 'bridge',
    bridge: 'berth0',
    isGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.90.0.0/24', gateway: '10.90.0.1' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: '/x' },
  });
  assert.deepEqual(list.plugins[1], { type: 'portmap', capabilities: { portMappings: true }, snat: true });
  const internal = { ...existing, internal: true };
  const internalList = bridgeConfList(internal) as { plugins: Array<{ ipMasq?: boolean; ipam?: { routes: unknown[] } }> };
  assert.equal(internalList.plugins[0]!.ipMasq, false);
  assert.deepEqual(internalList.plugins[0]!.ipam!.routes, []);
  for (const def of [existing, internal]) assert.deepEqual(bridgeNetworkOf(parseConfList(JSON.stringify(bridgeConfList(def)), 'x.conflist')), def);
  assert.equal(bridgeNetworkOf(parseConfList('{"cniVersion":"1.0.0","name":"p","plugins":[{"type":"ptp"}]}', 'p.conflist')), undefined);
});

test('-p: [IP:][HOST:]CONTAINER[/PROTO], ranges of one length, errors naming the flag', () => {
  assert.deepEqual(parsePublish('80'), [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }]);
  assert.deepEqual(parsePublish('8080:80'), [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
  assert.deepEqual(parsePublish('127.0.0.1:8080:80/udp'), [{ hostPort: 8080, containerPort: 80, protocol: 'udp', hostIP: '127.0.0.1' }]);
  assert.deepEqual(parsePublish('127.0.0.1::80'), [{ hostPort: 0, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }]);
  assert.deepEqual(parsePublish('9000-9001:90-91/TCP').map((p) => [p.hostPort, p.containerPort]), [[9000, 90], [9001, 91]]);
  fails(() => parsePublish('9000-9002:90-91'), '--publish', /differ in length/);
  fails(() => parsePublish('0:80'), '--publish', /host port "0" is not a port/);
  fails(() => parsePublish('80:65536'), '--publish', /container port "65536"/);
  fails(() => parsePublish('80/icmp'), '--publish', /"icmp" is not tcp or udp/);
  fails(() => parsePublish('localhost:80:80'), '--publish', /"localhost" is not an IPv4 address/);
  fails(() => parsePublish('1:2:3:4'), '--publish', /not \[IP:\]\[HOST:\]CONTAINER/);
  fails(() => parsePublish('80/tcp/x'), '--publish', /not \[IP:\]\[HOST:\]CONTAINER/);
  fails(() => parsePublish('[::1]:80:80'), '--publish', /IPv6/);
});

test("-P: the image's ExposedPorts on free host ports; a -p for the same port wins", () => {
  const exposed = exposedPorts({ '80/tcp': {}, '53/udp': {}, '7000-7001': {}, '9/sctp': {} });
  assert.deepEqual(exposed.map((p) => `${p.hostPort}:${p.containerPort}/${p.protocol}`), ['0:80/tcp', '0:53/udp', '0:7000/tcp', '0:7001/tcp']);
  const merged = withExposed(parsePublish('8080:80'), exposed);
  assert.deepEqual(merged.map((p) => `${p.hostPort}:${p.containerPort}/${p.protocol}`), ['8080:80/tcp', '0:53/udp', '0:7000/tcp', '0:7001/tcp']);
});

test('port and ps print mappings as docker does', () => {
  const ports = [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp' as const },
    { hostPort: 9053, containerPort: 53, protocol: 'udp' as const, hostIP: '127.0.0.1' },
  ];
  assert.deepEqual(portLines(ports), ['80/tcp -> 0.0.0.0:8080', '53/udp -> 127.0.0.1:9053']);
  assert.deepEqual(portLines(ports, '80'), ['0.0.0.0:8080']);
  assert.deepEqual(portLines(ports, '53/udp'), ['127.0.0.1:9053']);
  assert.deepEqual(portLines(ports, '53'), []);
  fails(() => portLines(ports, 'http'), 'private port', /not PORT\[\/PROTO\]/);
  assert.equal(portsColumn(ports), '0.0.0.0:8080->80/tcp, 127.0.0.1:9053->53/udp');
  assert.equal(portsColumn([]), '');
});
