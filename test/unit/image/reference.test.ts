import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarReference, formatReference, parseNormalized, parseReference } from '../../../src/oci/reference.ts';
import { BerthError } from '../../../src/oci/errors.ts';

const D = 'sha256:' + 'a'.repeat(64);

test('normalises references as docker does', () => {
  const cases: Array<[string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['localhost/x', 'localhost/x:latest'],
    ['localhost:5000/x', 'localhost:5000/x:latest'],
    ['127.0.0.1:5000/a/b/c:v1', '127.0.0.1:5000/a/b/c:v1'],
    ['quay.io/org/img:tag', 'quay.io/org/img:tag'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
    ['Registry.Example.com/x', 'Registry.Example.com/x:latest'],
    ['[::1]:5000/x', '[::1]:5000/x:latest'],
    ['a__b/c--d/e.f', 'docker.io/a__b/c--d/e.f:latest'],
  ];
  for (const [input, want] of cases) assert.equal(formatReference(parseReference(input)), want, input);
});

test('familiar names drop docker.io and library/', () => {
  assert.equal(familiarReference(parseReference('busybox')), 'busybox:latest');
  assert.equal(familiarReference(parseReference('user/app:1')), 'user/app:1');
  assert.equal(familiarReference(parseReference('localhost:5000/x:y')), 'localhost:5000/x:y');
  assert.equal(familiarReference(parseReference('docker.io/library/a/b')), 'library/a/b:latest');
});

test('parseNormalized keeps a missing tag missing', () => {
  const r = parseNormalized('busybox');
  assert.equal(r.tag, undefined);
  assert.equal(r.path, 'library/busybox');
});

test('invalid references are invalid-argument errors', () => {
  const bad = [
    '', 'Busybox', 'docker.io/Busybox', 'a:', ':tag', 'a@sha256:xyz', 'a@', 'a//b', 'a/', '/a', 'a b', 'a:tag with space',
    'a:' + 'x'.repeat(129), 'host:port:1/x',
    '-a', 'a-', 'a..b', `x/${'a'.repeat(300)}`, 'a@md5:abc', 'a:-tag',
  ];
  for (const input of bad) {
    assert.throws(() => parseReference(input), (e: unknown) => {
      assert.ok(e instanceof BerthError, input);
      assert.ok(e.kind === 'invalid-argument' || e.kind === 'unimplemented', `${input}: ${e.kind}`);
      return true;
    }, input);
  }
});

test('an uppercase first component is a registry host, as in docker', () => {
  assert.equal(parseReference('UPPER/case').domain, 'UPPER');
});

test('a 64-hex name is refused as an image id', () => {
  assert.throws(() => parseReference('c'.repeat(64)), /hexadecimal/);
});
