import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRegistriesConf, pullSources, pushSource, registryFor } from '../../../src/image/registries-conf.ts';
import { parseReference } from '../../../src/oci/reference.ts';
import { isLoopbackHost } from '../../../src/image/registry-hosts.ts';

const conf = parseRegistriesConf(`
unqualified-search-registries = ["example.com"]

[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.net/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true

[[registry]]
prefix = "registry.k8s.io"
location = "127.0.0.1:5000"
insecure = true

[[registry]]
location = "example.com"
mirror-by-digest-only = true
[[registry.mirror]]
location = "by-digest.local"
[[registry.mirror]]
location = "by-tag.local"
pull-from-mirror = "tag-only"

[[registry]]
prefix = "*.corp.example"
insecure = true

[[registry]]
prefix = "docker.io/library/evil"
blocked = true
`);

const sources = (name: string) => pullSources(parseReference(name), conf, isLoopbackHost).map((s) => `${s.mirror ? 'mirror ' : ''}${s.insecure ? 'http ' : ''}${s.domain}/${s.repository}`);

test('the man page example: mirrors in order, then the rewritten primary location', () => {
  assert.deepEqual(sources('example.com/foo/image:latest'), [
    'mirror example-mirror-0.local/mirror-for-foo/image',
    'mirror http example-mirror-1.local/mirrors/foo/image',
    'internal-registry-for-example.net/bar/image',
  ]);
  assert.deepEqual(conf.unqualifiedSearch, ['example.com']);
});

test('registry.k8s.io redirected to a local insecure registry keeps the path', () => {
  assert.deepEqual(sources('registry.k8s.io/pause:3.9'), ['http 127.0.0.1:5000/pause']);
});

test('prefixes match whole components, the longest wins, a missing prefix is the location', () => {
  assert.equal(registryFor(parseReference('example.com/foo/x'), conf)?.prefix, 'example.com/foo');
  assert.equal(registryFor(parseReference('example.com/foobar/x'), conf)?.prefix, 'example.com');
  assert.equal(registryFor(parseReference('other.org/x'), conf), undefined);
  assert.deepEqual(sources('other.org/x:1'), ['other.org/x']);
  assert.deepEqual(sources('localhost:5000/x:1'), ['http localhost:5000/x'], 'loopback hosts default to plain HTTP');
  const local = parseRegistriesConf('[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n[[registry.mirror]]\nlocation = "127.0.0.1:5001"\n');
  assert.deepEqual(pullSources(parseReference('busybox'), local, isLoopbackHost).map((s) => [s.domain, s.insecure]), [['127.0.0.1:5001', true], ['docker.io', false]], 'a loopback mirror too');
});

test('pull-from-mirror and mirror-by-digest-only pick mirrors by tag or digest', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(sources('example.com/app:1'), ['mirror by-tag.local/app', 'example.com/app']);
  assert.deepEqual(sources(`example.com/app@${digest}`), ['mirror by-digest.local/app', 'example.com/app']);
});

test('a wildcard prefix matches subdomains only and keeps the host', () => {
  assert.deepEqual(sources('a.corp.example/team/app:1'), ['http a.corp.example/team/app']);
  assert.equal(registryFor(parseReference('corp.example/app'), conf), undefined);
});

test('a blocked name is refused for pulls and pushes; docker.io names carry library/', () => {
  assert.throws(() => sources('evil'), (e: Error & { kind?: string }) => e.kind === 'permission-denied' && /docker\.io\/library\/evil is blocked/.test(e.message));
  assert.throws(() => pushSource(parseReference('evil'), conf, isLoopbackHost), /blocked/);
  assert.deepEqual(sources('busybox'), ['docker.io/library/busybox']);
});

test('pushes go to the name itself, not to locations or mirrors', () => {
  assert.deepEqual(pushSource(parseReference('registry.k8s.io/pause:3.9'), conf, isLoopbackHost), { domain: 'registry.k8s.io', repository: 'pause', insecure: true, mirror: false });
});

test('bad files are refused naming file and field', () => {
  const bad = (text: string, re: RegExp) => assert.throws(() => parseRegistriesConf(text, '/etc/r.conf'), (e: Error) => re.test(e.message) && e.message.startsWith('/etc/r.conf'));
  bad('[registries.search]\nregistries = ["a"]\n', /version 1 format/);
  bad('[[registry]]\nlocation = "https://x.io"\n', /registry\[0\]\.location: .*scheme/);
  bad('[[registry]]\nprefix = "*.x.io"\nlocation = "y.io"\n', /wildcard/);
  bad('[[registry]]\nprefix = "x.io"\n[[registry.mirror]]\nlocation = "m.io"\npull-from-mirror = "sometimes"\n', /registry\[0\]\.mirror\[0\]\.pull-from-mirror/);
  bad('[[registry]]\ninsecure = "yes"\nlocation = "x.io"\n', /insecure: must be true or false/);
  bad('[[registry]]\nlocation = "x.io"\n[[registry]]\nprefix = "x.io"\n', /configured twice/);
  bad('unqualified-search-registries = "docker.io"', /unqualified-search-registries/);
  bad('[[registry', /not valid TOML/);
});
