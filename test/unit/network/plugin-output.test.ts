// What plugins print (results, errors) and what berth keeps of it (the libcni cache record).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/oci/errors.ts';
import { CACHE_KIND, cacheFileName, decodeCacheRecord, encodeCacheRecord } from '../../../src/network/cache-record.ts';
import { CniPluginError, describeFailure, parseErrorBody } from '../../../src/network/cni-error.ts';
import { containerAddresses, parseCniResult, resultAsVersion } from '../../../src/network/cni-result.ts';

// Printed by Debian's bridge plugin (containernetworking-plugins 1.1.1) for a 1.0.0 ADD.
const BRIDGE_100 = `{
    "cniVersion": "1.0.0",
    "interfaces": [
        { "name": "cnitrybr0", "mac": "9a:3e:13:98:0f:64" },
        { "name": "veth87ac93fc", "mac": "7e:5b:04:0c:d8:58" },
        { "name": "eth0", "mac": "86:8d:70:da:bd:a0", "sandbox": "/var/run/netns/cnitry1" }
    ],
    "ips": [ { "interface": 2, "address": "10.250.77.2/24", "gateway": "10.250.77.1" } ],
    "routes": [ { "dst": "0.0.0.0/0" } ],
    "dns": {}
}`;

// A 0.4.0 result, with the per-IP version field of that spec.
const RESULT_040 = {
  cniVersion: '0.4.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:58:00:05', sandbox: '/proc/42/ns/net' }],
  ips: [
    { version: '4', interface: 0, address: '10.88.0.5/16', gateway: '10.88.0.1' },
    { version: '6', interface: 0, address: 'fd00::5/64' },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }],
  dns: { nameservers: ['10.88.0.1'], search: ['svc.local'] },
};

test("a real bridge result: interfaces, IPs, routes; empty dns dropped on the way out", () => {
  const r = parseCniResult(JSON.parse(BRIDGE_100), '1.0.0');
  assert.equal(r.cniVersion, '1.0.0');
  assert.deepEqual(r.interfaces.map((i) => i.name), ['cnitrybr0', 'veth87ac93fc', 'eth0']);
  assert.equal(r.interfaces[2]!.sandbox, '/var/run/netns/cnitry1');
  assert.deepEqual(r.ips, [{ interface: 2, address: '10.250.77.2/24', gateway: '10.250.77.1' }]);
  assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0' }]);
  assert.deepEqual(r.dns, {});
  assert.deepEqual(containerAddresses(r, 'eth0').map((i) => i.address), ['10.250.77.2/24']);
  assert.deepEqual(containerAddresses(r, 'net1'), []);
  const out = resultAsVersion(r, '1.0.0');
  assert.equal('dns' in out, false);
  assert.deepEqual(parseCniResult(out, '1.0.0'), r, 'round trip');
});

test('0.4.0 to 1.0.0 and back: the ips[].version field goes and comes', () => {
  const r = parseCniResult(RESULT_040, '0.4.0');
  const as100 = resultAsVersion(r, '1.0.0') as { ips: Array<Record<string, unknown>> };
  assert.deepEqual(as100.ips[1], { interface: 0, address: 'fd00::5/64' });
  const back = resultAsVersion(parseCniResult(as100, '1.0.0'), '0.4.0');
  assert.deepEqual(back, RESULT_040);
});

test('1.1.0 fields are kept for 1.x and dropped for 0.4.0', () => {
  const r = parseCniResult(
    {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', sandbox: '/n', mtu: 1450, socketPath: '/s', pciID: '0000:00:01.0' }],
      ips: [{ address: '10.0.0.2/24', interface: 0 }],
      routes: [{ dst: '10.1.0.0/16', gw: '10.0.0.1', mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 }],
    },
    '1.1.0',
  );
  assert.deepEqual((resultAsVersion(r, '1.1.0').interfaces as unknown[])[0], { name: 'eth0', sandbox: '/n', mtu: 1450, socketPath: '/s', pciID: '0000:00:01.0' });
  assert.deepEqual((resultAsVersion(r, '0.4.0').interfaces as unknown[])[0], { name: 'eth0', sandbox: '/n' });
  assert.deepEqual((resultAsVersion(r, '1.0.0').routes as unknown[])[0], { dst: '10.1.0.0/16', gw: '10.0.0.1', mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 });
});

test('a result without cniVersion is taken in the config version (libcni fix-up); unknown fields are dropped', () => {
  const r = parseCniResult({ ips: [{ address: '10.0.0.2/24' }], extra: 1 }, '1.0.0');
  assert.equal(r.cniVersion, '1.0.0');
  assert.deepEqual(resultAsVersion(r, '1.0.0'), { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
});

test('malformed results are errors naming the field', () => {
  const bad = (v: unknown, re: RegExp) => assert.throws(() => parseCniResult(v, '1.0.0', 'plugin bridge ADD result'), (e: unknown) => e instanceof BerthError && re.test(e.message));
  bad({ ips: [{ address: '10.0.0.2' }] }, /ips\[0\]\.address: "10\.0\.0\.2" is not an address in CIDR notation/);
  bad({ ips: [{ address: '10.0.0.2/33' }] }, /not an address in CIDR/);
  bad({ ips: [{ address: '10.0.0.2/24', gateway: 'gw' }] }, /ips\[0\]\.gateway: "gw" is not an IP address/);
  bad({ ips: [{ address: '10.0.0.2/24', interface: -1 }] }, /ips\[0\]\.interface: must be a non-negative integer/);
  bad({ interfaces: [{ mac: 'x' }] }, /interfaces\[0\]\.name: is missing/);
  bad({ routes: [{ gw: '10.0.0.1' }] }, /routes\[0\]\.dst: is missing/);
  bad({ dns: { nameservers: 'x' } }, /dns\.nameservers: must be a list of strings/);
  bad({ ips: {} }, /ips: must be a list/);
  bad({ cniVersion: '0.2.0', ip4: {} }, /result version "0\.2\.0" is not supported/);
  bad([], /must be an object/);
});

test("plugin errors: the spec's error object, with the code's meaning and a kind", () => {
  // What Debian's bridge plugin prints when CNI_COMMAND is unknown.
  const body = parseErrorBody('{\n    "code": 7,\n    "msg": "missing network name"\n}');
  assert.deepEqual(body, { code: 7, msg: 'missing network name' });
  const err = new CniPluginError({ plugin: 'bridge', field: 'plugins[0]', command: 'ADD', network: 'berth' }, { code: 11, msg: 'busy', details: 'retry' });
  assert.equal(err.kind, 'unavailable');
  assert.equal(err.code, 11);
  assert.equal(err.message, 'CNI plugin bridge ADD on network "berth" failed: busy; retry (CNI error 11: try again later)');
  assert.match(err.describe(), /plugins\[0\]/);
  assert.equal(new CniPluginError({ plugin: 'x', command: 'DEL' }, { code: 3, msg: 'gone' }).kind, 'not-found');
  assert.equal(new CniPluginError({ plugin: 'x', command: 'DEL' }, { code: 1, msg: 'v' }).kind, 'unimplemented');
  assert.equal(new CniPluginError({ plugin: 'x', command: 'DEL' }, { code: 100, msg: 'own' }).kind, 'internal');
});

test('a plugin that prints no error object: its stderr, else stdout, and how it ended', () => {
  assert.deepEqual(describeFailure('', 'panic: oops\n', 'exit status 2'), { code: 0, msg: '"panic: oops", exit status 2' });
  assert.deepEqual(describeFailure('not json', '', 'exit status 1'), { code: 0, msg: '"not json", exit status 1' });
  assert.deepEqual(describeFailure('', '', 'killed by SIGKILL'), { code: 0, msg: 'killed by SIGKILL, no error message' });
  assert.equal(parseErrorBody('{"cniVersion":"1.0.0"}'), undefined);
});

// A record as libcni's cacheAdd writes it (Go's encoding/json: []byte as base64, struct fields in
// order, map keys sorted).
const CONFIG = '{"cniVersion":"1.0.0","name":"mynet","plugins":[{"type":"bridge","bridge":"cni0","ipam":{"type":"host-local","subnet":"10.22.0.0/16"}}]}';
const LIBCNI_RECORD =
  `{"kind":"cniCacheV1","containerId":"ctr-1","config":"${Buffer.from(CONFIG).toString('base64')}","ifName":"eth0","networkName":"mynet",` +
  `"netns":"/var/run/netns/ctr-1","cniArgs":[["IgnoreUnknown","1"],["K8S_POD_NAME","web"]],"capabilityArgs":{"portMappings":[{"containerPort":80,"hostPort":8080,"protocol":"tcp"}]},` +
  `"result":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/ctr-1"}],"ips":[{"address":"10.22.0.2/16","gateway":"10.22.0.1","interface":0}]}}`;

test("the cache record reads libcni's format and writes it back byte for byte", () => {
  const rec = decodeCacheRecord(LIBCNI_RECORD, { networkName: 'mynet', containerId: 'ctr-1', ifname: 'eth0' });
  assert.ok(rec);
  assert.equal(rec.config, CONFIG);
  assert.equal(rec.netns, '/var/run/netns/ctr-1');
  assert.deepEqual(rec.cniArgs, [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web']]);
  assert.deepEqual(rec.capabilityArgs, { portMappings: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }] });
  assert.equal((rec.result as { ips: Array<{ address: string }> }).ips[0]!.address, '10.22.0.2/16');
  assert.equal(encodeCacheRecord(rec), LIBCNI_RECORD);
  assert.equal(cacheFileName('mynet', 'ctr-1', 'eth0'), 'mynet-ctr-1-eth0');
});

test('cache records: empty fields omitted as libcni omits them; legacy bare results; junk', () => {
  const minimal = encodeCacheRecord({ networkName: 'n', containerId: 'c', ifname: 'eth0', cniArgs: [], capabilityArgs: {} });
  assert.deepEqual(JSON.parse(minimal), { kind: CACHE_KIND, containerId: 'c', config: '', ifName: 'eth0', networkName: 'n' });
  const key = { networkName: 'n', containerId: 'c', ifname: 'eth0' };
  assert.deepEqual(decodeCacheRecord('{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.0.0.2/24"}]}', key), {
    ...key,
    result: { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.0.0.2/24' }] },
  });
  assert.equal(decodeCacheRecord('{"cniVersion":"0.3.1"}'), undefined, 'a legacy record has no identity of its own');
  assert.equal(decodeCacheRecord('{"kind":"cniCacheV2"}', key), undefined);
  assert.equal(decodeCacheRecord('{"kind":"cniCacheV1","containerId":"c"}'), undefined, 'no network or interface name');
  assert.equal(decodeCacheRecord('garbage', key), undefined);
});

// Written by podman 4.3's vendored libcni (Debian 12) for `podman run --network pmtry`: no netns
// field in that version, map keys sorted by Go.
const PODMAN_RECORD =
  '{"kind":"cniCacheV1","containerId":"5af5ab21434ce77a501d3e3a7ac18e29fc5d881b039cd106bc14238f8fbf1139","config":"eyJjbmlWZXJzaW9uIjoiMS4wLjAiLCJuYW1lIjoicG10cnkiLCJwbHVnaW5zIjpbeyJ0eXBlIjoiYnJpZGdlIiwiYnJpZGdlIjoicG10cnlicjAiLCJpc0dhdGV3YXkiOnRydWUsImlwYW0iOnsidHlwZSI6Imhvc3QtbG9jYWwiLCJyYW5nZXMiOltbeyJzdWJuZXQiOiIxMC4yMzEuMjUxLjAvMjQifV1dLCJkYXRhRGlyIjoiL3RtcC9iZXJ0aC1wb2RtYW4taTM0bXBpL2lwYW0ifX0seyJ0eXBlIjoicG9ydG1hcCIsImNhcGFiaWxpdGllcyI6eyJwb3J0TWFwcGluZ3MiOnRydWV9fV19","ifName":"eth0","networkName":"pmtry","cniArgs":[["IgnoreUnknown","1"],["K8S_POD_NAME","peaceful_swirles"]],"capabilityArgs":{"aliases":{"pmtry":["5af5ab21434c"]}},"result":{"cniVersion":"1.0.0","dns":{},"interfaces":[{"mac":"32:19:15:01:d8:0a","name":"pmtrybr0"},{"mac":"ae:c4:f4:3f:57:9d","name":"veth03a993d7"},{"mac":"5a:26:55:fa:6c:4a","name":"eth0","sandbox":"/run/netns/netns-c8b47043-be5d-4343-7a8c-e62b5ab12a16"}],"ips":[{"address":"10.231.251.2/24","gateway":"10.231.251.1","interface":2}]}}';

test("a record podman's libcni wrote: config, arguments and result read back, the same JSON written", () => {
  const rec = decodeCacheRecord(PODMAN_RECORD, { networkName: 'pmtry', containerId: 'x', ifname: 'eth0' });
  assert.ok(rec);
  assert.equal(rec.containerId, '5af5ab21434ce77a501d3e3a7ac18e29fc5d881b039cd106bc14238f8fbf1139');
  assert.equal(rec.netns, undefined);
  assert.deepEqual(JSON.parse(rec.config!).plugins.map((p: { type: string }) => p.type), ['bridge', 'portmap']);
  assert.deepEqual(rec.cniArgs, [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'peaceful_swirles']]);
  const result = parseCniResult(rec.result, '1.0.0');
  assert.deepEqual(containerAddresses(result, 'eth0').map((a) => a.address), ['10.231.251.2/24']);
  assert.deepEqual(JSON.parse(encodeCacheRecord(rec)), JSON.parse(PODMAN_RECORD));
});
