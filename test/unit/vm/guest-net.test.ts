// berth-vm's network mapping: which interface of a pod's netns the guest takes over, what it is
// told (MAC, MTU, addresses, routes), and the ip/tc commands that plug a tap in. Pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGuestNet, guestNetwork, guestNamespaces, netnsPath, plugCommands, tapName, unplugCommands, type IpLink, type IpRoute } from '../../../src/runtime/vm/guest-net.ts';
import { qemuArgs } from '../../../src/runtime/vm/qemu-args.ts';
import { defaultSpec } from '../../../src/runtime/default-spec.ts';
import { BerthError } from '../../../src/oci/errors.ts';

// What `ip -j -d addr show` and `ip -j [-6] route show table main` print in a CNI pod netns.
const lo: IpLink = { ifname: 'lo', link_type: 'loopback', address: '00:00:00:00:00:00', mtu: 65536, addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] };
const eth0: IpLink = {
  ifname: 'eth0', link_type: 'ether', address: '0E:8E:81:12:57:47', mtu: 1450, linkinfo: { info_kind: 'veth' },
  addr_info: [
    { family: 'inet', local: '10.88.0.7', prefixlen: 16, scope: 'global' },
    { family: 'inet6', local: 'fd00:88::7', prefixlen: 64, scope: 'global' },
    { family: 'inet6', local: 'fe80::c8e:81ff:fe12:5747', prefixlen: 64, scope: 'link' },
  ],
};
const routes: IpRoute[] = [
  { dst: 'default', gateway: '10.88.0.1', dev: 'eth0' },
  { dst: '10.88.0.0/16', dev: 'eth0', protocol: 'kernel' },
  { dst: '10.96.0.0/12', gateway: '10.88.0.1', dev: 'eth0' },
  { dst: '192.168.5.5', dev: 'eth0' },
  { dst: 'fe80::/64', dev: 'eth0', protocol: 'kernel' },
  { dst: 'default', gateway: 'fd00:88::1', dev: 'eth0' },
];

test('guest network: the default route\'s interface, its global addresses, routes without the kernel\'s, link routes first', () => {
  const net = guestNetwork('/run/netns/p', [lo, eth0], routes)!;
  assert.equal(net.iface, 'eth0');
  assert.equal(net.mac, '0e:8e:81:12:57:47');
  assert.equal(net.mtu, 1450);
  assert.deepEqual(net.addresses, [{ family: 4, address: '10.88.0.7', prefixLength: 16 }, { family: 6, address: 'fd00:88::7', prefixLength: 64 }]);
  assert.deepEqual(net.routes, [
    { family: 4, dst: '192.168.5.5', prefixLength: 32 },
    { family: 4, dst: '0.0.0.0', prefixLength: 0, gateway: '10.88.0.1' },
    { family: 4, dst: '10.96.0.0', prefixLength: 12, gateway: '10.88.0.1' },
    { family: 6, dst: '::', prefixLength: 0, gateway: 'fd00:88::1' },
  ]);
  assert.equal(encodeGuestNet(net).toString(), [
    'mac 0e:8e:81:12:57:47', 'mtu 1450', 'addr 4 10.88.0.7 16', 'addr 6 fd00:88::7 64',
    'route 4 192.168.5.5 32 -', 'route 4 0.0.0.0 0 10.88.0.1', 'route 4 10.96.0.0 12 10.88.0.1', 'route 6 :: 0 fd00:88::1', '',
  ].join('\n'));
});

test('guest network: a second interface, an old tap and loopback are not candidates; loopback alone is no network; two without eth0 is an error naming the netns', () => {
  const net1: IpLink = { ...eth0, ifname: 'net1', address: '02:00:00:00:00:01', addr_info: [] };
  const tap: IpLink = { ifname: tapName('other'), link_type: 'ether', address: '02:00:00:00:00:02', linkinfo: { info_kind: 'tun' } };
  assert.equal(guestNetwork('/p', [lo, tap, net1, eth0], [])?.iface, 'eth0');
  assert.equal(guestNetwork('/p', [lo, tap, net1], [])?.iface, 'net1');
  assert.equal(guestNetwork('/run/netns/none', [lo, tap], []), undefined, 'loopback alone (--network none): no network device');
  assert.throws(() => guestNetwork('/run/netns/two', [lo, net1, { ...net1, ifname: 'net2' }], []), (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument' && /\/run\/netns\/two has no interface for the VM \(ethernet interfaces: net1, net2/.test(e.message));
});

test('namespaces joined by path: network dropped (the guest has the interface), ipc and uts the guest\'s own with the pod\'s hostname; pid refused', () => {
  const spec = defaultSpec();
  delete spec.hostname; // a container joining its pod's uts namespace names none
  spec.linux!.namespaces = [{ type: 'pid' }, { type: 'network', path: '/run/netns/pod' }, { type: 'ipc', path: '/p/ipc' }, { type: 'uts', path: '/p/uts' }];
  assert.equal(netnsPath(spec), '/run/netns/pod');
  const asked: string[] = [];
  const guest = guestNamespaces(spec, (p) => (asked.push(p), 'web-0'));
  assert.deepEqual(guest.linux!.namespaces, [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }]);
  assert.equal(guest.hostname, 'web-0');
  assert.deepEqual(asked, ['/p/uts']);
  assert.equal(guestNamespaces({ ...spec, hostname: 'own' }, () => 'web-0').hostname, 'own');
  const own = defaultSpec();
  assert.equal(netnsPath(own), undefined);
  assert.equal(guestNamespaces(own, () => 'x'), own);
  const pid = { ...spec, linux: { ...spec.linux, namespaces: [{ type: 'pid' as const, path: '/proc/1/ns/pid' }] } };
  assert.throws(() => guestNamespaces(pid, () => undefined), (e: unknown) => e instanceof BerthError && e.kind === 'unimplemented' && /linux\.namespaces\[0\]/.test(e.message));
});

test('tap: a stable name within IFNAMSIZ per container; mirred both ways; unplug removes the ingress qdisc and the tap', () => {
  const tap = tapName('pod-a_container-1');
  assert.match(tap, /^bvm[0-9a-f]{10}$/);
  assert.equal(tap, tapName('pod-a_container-1'));
  assert.notEqual(tap, tapName('pod-a_container-2'));
  const p = { netns: '/run/netns/pod', iface: 'eth0', tap };
  const { ip, tc } = plugCommands(p, 1450);
  assert.deepEqual(ip, [`tuntap add dev ${tap} mode tap vnet_hdr`, `link set dev ${tap} mtu 1450 up`]);
  assert.ok(tc.includes(`filter add dev eth0 parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev ${tap}`));
  assert.ok(tc.includes(`filter add dev ${tap} parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev eth0`));
  assert.deepEqual(unplugCommands(p), [['tc', ['qdisc', 'del', 'dev', 'eth0', 'handle', 'ffff:', 'ingress']], ['ip', ['link', 'del', 'dev', tap]]]);
});

test('QEMU: a virtio-net device on the tap fd with the interface\'s MAC and no option ROM; none without a netns', () => {
  const base = { name: 'c', accel: 'tcg' as const, memoryMiB: 128, cpus: 1, kernel: '/k', initrd: '/i', share: true, control: true };
  const args = qemuArgs({ ...base, net: { mac: '0e:8e:81:12:57:47' } });
  assert.equal(args[args.indexOf('-netdev') + 1], 'tap,id=net0,fd=6,vhost=off');
  assert.ok(args.includes('virtio-net-pci,netdev=net0,mac=0e:8e:81:12:57:47,romfile='));
  assert.ok(!qemuArgs(base).includes('-netdev'));
});
