import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../../src/oci/errors.ts';
import { parseConfFile, parseConfList, parseSingleConf } from '../../../src/network/conflist.ts';
import { confFileNames, loadNetwork, loadNetworks } from '../../../src/network/conf-dir.ts';
import { compareCniVersions, selectCniVersion } from '../../../src/network/cni-version.ts';

// Debian podman 4.3's /etc/cni/net.d/87-podman-bridge.conflist, as shipped.
const PODMAN_BRIDGE = `{
  "cniVersion": "0.4.0",
  "name": "podman",
  "plugins": [
    { "type": "bridge", "bridge": "cni-podman0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "routes": [{ "dst": "0.0.0.0/0" }],
                "ranges": [[{ "subnet": "10.88.0.0/16", "gateway": "10.88.0.1" }]] } },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall" },
    { "type": "tuning" }
  ]
}`;

function rejects(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BerthError, String(err));
    assert.equal(err.where.field, field);
    assert.equal(err.where.path, '/etc/cni/net.d/10-x.conflist');
    assert.match(err.message, message);
    return true;
  });
}
const SRC = '/etc/cni/net.d/10-x.conflist';

test("podman's conflist parses: name, version, plugins in order, declared capabilities", () => {
  const list = parseConfList(PODMAN_BRIDGE, '87-podman-bridge.conflist');
  assert.equal(list.name, 'podman');
  assert.equal(list.cniVersion, '0.4.0');
  assert.deepEqual(list.plugins.map((p) => p.type), ['bridge', 'portmap', 'firewall', 'tuning']);
  assert.deepEqual(list.plugins.map((p) => p.capabilities), [[], ['portMappings'], [], []]);
  assert.equal(list.plugins[0]!.raw.bridge, 'cni-podman0');
  assert.equal(list.disableCheck, false);
  assert.equal(list.bytes, PODMAN_BRIDGE);
});

test('conflist errors name the file and the field', () => {
  rejects(() => parseConfList('{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}', SRC), 'name', /10-x\.conflist: name: is missing/);
  rejects(() => parseConfList('{"cniVersion":"1.0.0","name":"a b","plugins":[{"type":"bridge"}]}', SRC), 'name', /network name "a b"/);
  rejects(() => parseConfList('{"name":"n","plugins":[{"type":"bridge"}]}', SRC), 'cniVersion', /cniVersion: is missing/);
  rejects(() => parseConfList('{"cniVersion":1,"name":"n","plugins":[]}', SRC), 'cniVersion', /must be a string/);
  rejects(() => parseConfList('{"cniVersion":"0.2.0","name":"n","plugins":[{"type":"bridge"}]}', SRC), 'cniVersion', /"0\.2\.0" is not supported/);
  rejects(() => parseConfList('{"cniVersion":"1.0.0","name":"n","plugins":[]}', SRC), 'plugins', /plugins: is empty/);
  rejects(() => parseConfList('{"cniVersion":"1.0.0","name":"n","plugins":{}}', SRC), 'plugins', /must be a list/);
  rejects(() => parseConfList('{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"},{"bridge":"x"}]}', SRC), 'plugins[1].type', /non-empty string/);
  rejects(() => parseConfList('{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../sbin/x"}]}', SRC), 'plugins[0].type', /not a plugin name/);
  rejects(() => parseConfList('{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"portmap","capabilities":{"portMappings":"yes"}}]}', SRC), 'plugins[0].capabilities.portMappings', /true or false/);
  rejects(() => parseConfList('{"cniVersion":"1.0.0","name":"n","disableCheck":"maybe","plugins":[{"type":"b"}]}', SRC), 'disableCheck', /true or false/);
  assert.throws(() => parseConfList('{"cniVersion": "1.0.0", ', SRC), /10-x\.conflist: not valid JSON/);
  assert.throws(() => parseConfList('[1]', SRC), /must hold a JSON object/);
});

test('flags read as booleans or the strings "true"/"false", as libcni', () => {
  const list = parseConfList('{"cniVersion":"1.1.0","name":"n","disableCheck":"True","disableGC":true,"plugins":[{"type":"b"}]}', SRC);
  assert.equal(list.disableCheck, true);
  assert.equal(list.disableGC, true);
});

test('cniVersions: the highest version berth knows wins, newer ones are ignored', () => {
  const list = parseConfList('{"cniVersion":"0.4.0","cniVersions":["1.0.0","9.0.0","1.1.0"],"name":"n","plugins":[{"type":"b"}]}', SRC);
  assert.equal(list.cniVersion, '1.1.0');
  assert.equal(selectCniVersion(undefined, ['0.3.1', '1.0.0']), '1.0.0');
  assert.equal(selectCniVersion('1.0.0', []), '1.0.0');
  assert.ok(compareCniVersions('0.10.0', '0.4.0') > 0);
  assert.ok(compareCniVersions('1', '1.0.0') === 0);
  rejects(() => parseConfList('{"cniVersions":["x"],"name":"n","plugins":[{"type":"b"}]}', SRC), 'cniVersions[0]', /not a version/);
});

test('a single plugin configuration becomes a one-plugin list, cached as a conflist', () => {
  const text = '{"cniVersion":"0.3.1","name":"mynet","type":"bridge","bridge":"cni0","ipam":{"type":"host-local","subnet":"10.22.0.0/16"}}';
  const list = parseSingleConf(text, '10-mynet.conf');
  assert.equal(list.name, 'mynet');
  assert.deepEqual(list.plugins.map((p) => p.type), ['bridge']);
  const cached = JSON.parse(list.bytes);
  assert.deepEqual(Object.keys(cached), ['cniVersion', 'name', 'plugins']);
  assert.equal(cached.plugins[0].bridge, 'cni0');
  assert.throws(() => parseConfFile('{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"b"}]}', '/d/10-n.conf'), /type: is missing \(a list of plugins belongs in a \.conflist file\)/);
  assert.equal(parseConfFile(PODMAN_BRIDGE, '/d/87.conflist').plugins.length, 4);
});

test('conf files: .conf, .conflist and .json regular files, in lexical order', () => {
  const names = confFileNames([
    { name: '99-last.conflist', isFile: true },
    { name: '10-b.conf', isFile: true },
    { name: '10-a.json', isFile: true },
    { name: 'README', isFile: true },
    { name: '05-dir.conf', isFile: false },
    { name: '50-x.conflist.bak', isFile: true },
  ]);
  assert.deepEqual(names, ['10-a.json', '10-b.conf', '99-last.conflist']);
});

function confDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cni-conf-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const list = (name: string, type = 'bridge') => JSON.stringify({ cniVersion: '1.0.0', name, plugins: [{ type }] });

test('loadNetwork: the lexically first file without a name, the named one otherwise', async () => {
  const dir = confDir({ '20-b.conflist': list('bnet'), '10-a.conflist': list('anet'), '30-c.conf': '{"cniVersion":"1.0.0","name":"cnet","type":"ptp"}' });
  try {
    assert.equal((await loadNetwork(dir)).name, 'anet');
    assert.equal((await loadNetwork(dir, 'bnet')).source, join(dir, '20-b.conflist'));
    assert.equal((await loadNetwork(dir, 'cnet')).plugins[0]!.type, 'ptp');
    await assert.rejects(loadNetwork(dir, 'nope'), /no CNI network named "nope" in /);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('loadNetwork: a broken first file is an error naming it; by name it is skipped but reported', async () => {
  const dir = confDir({ '10-bad.conflist': '{"cniVersion":"1.0.0","name":"bad","plugins":[{"typo":"bridge"}]}', '20-good.conflist': list('good') });
  try {
    await assert.rejects(loadNetwork(dir), /10-bad\.conflist: plugins\[0\]\.type: must be a non-empty string/);
    assert.equal((await loadNetwork(dir, 'good')).name, 'good');
    await assert.rejects(loadNetwork(dir, 'bad'), /no CNI network named "bad".*could not be read: .*10-bad\.conflist: plugins\[0\]\.type/);
    const all = await loadNetworks(dir);
    assert.deepEqual(all.networks.map((n) => n.name), ['good']);
    assert.equal(all.problems.length, 1);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('loadNetwork: an empty or missing conf dir is not-found', async () => {
  const dir = confDir({ 'README.md': 'x' });
  try {
    await assert.rejects(loadNetwork(dir), (e: unknown) => e instanceof BerthError && e.kind === 'not-found' && /no CNI network configuration in/.test(e.message));
    await assert.rejects(loadNetwork(join(dir, 'missing')), /no CNI network configuration/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a symlinked conf file counts; a symlinked directory does not', async () => {
  const dir = confDir({ 'real/x.json': list('linked'), 'sub/ignored': '' });
  try {
    symlinkSync(join(dir, 'real', 'x.json'), join(dir, '10-linked.conflist'));
    symlinkSync(join(dir, 'sub'), join(dir, '05-dir.conf'));
    assert.equal((await loadNetwork(dir)).name, 'linked');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("libcni 1.3 folder plugins: <conf dir>/<name>/*.conf join the list unless loadOnlyInlinedPlugins", async () => {
  const dir = confDir({
    '10-n.conflist': list('n'),
    'n/20-portmap.conf': '{"type":"portmap","capabilities":{"portMappings":true}}',
    'n/10-tuning.conf': '{"type":"tuning"}',
    '20-m.conflist': JSON.stringify({ cniVersion: '1.0.0', name: 'm', loadOnlyInlinedPlugins: true, plugins: [{ type: 'bridge' }] }),
    'm/10-tuning.conf': '{"type":"tuning"}',
    '30-only-folder.conflist': JSON.stringify({ cniVersion: '1.0.0', name: 'f' }),
    'f/10-ptp.conf': '{"type":"ptp"}',
    '40-empty.conflist': JSON.stringify({ cniVersion: '1.0.0', name: 'e' }),
  });
  try {
    const n = await loadNetwork(dir, 'n');
    assert.deepEqual(n.plugins.map((p) => p.type), ['bridge', 'tuning', 'portmap']);
    assert.deepEqual(JSON.parse(n.bytes).plugins.map((p: { type: string }) => p.type), ['bridge', 'tuning', 'portmap']);
    assert.deepEqual((await loadNetwork(dir, 'm')).plugins.map((p) => p.type), ['bridge']);
    assert.deepEqual((await loadNetwork(dir, 'f')).plugins.map((p) => p.type), ['ptp']);
    await assert.rejects(loadNetwork(dir, 'e'), /no CNI network named "e".*40-empty\.conflist: plugins: none given inline or in/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
