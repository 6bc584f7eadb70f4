import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleOciVersion, runtimeSpecVersion } from '../../../src/runtime/spec-version.ts';

test('runtimeSpecVersion reads the spec line runc, crun and runsc print', () => {
  assert.equal(runtimeSpecVersion('runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\n'), '1.0.2');
  assert.equal(runtimeSpecVersion('crun version 1.8.1\ncommit: f8a096be\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX\n'), '1.0.0');
  assert.equal(runtimeSpecVersion('runsc version 0.0~20221219.0\nspec: 1.0.2-dev\n'), '1.0.2');
  assert.equal(runtimeSpecVersion('some-runtime 3.1\n'), undefined);
  assert.equal(runtimeSpecVersion('spec: one\n'), undefined);
});

test('bundleOciVersion keeps ours unless the runtime names an older one', () => {
  assert.equal(bundleOciVersion('1.2.0', '1.0.0'), '1.0.0');
  assert.equal(bundleOciVersion('1.2.0', '1.0.2'), '1.0.2');
  assert.equal(bundleOciVersion('1.2.0', '1.2.0'), '1.2.0');
  assert.equal(bundleOciVersion('1.2.0', '1.3.1'), '1.2.0');
  assert.equal(bundleOciVersion('1.2.0', '1.10.0'), '1.2.0');
  assert.equal(bundleOciVersion('1.2.0', undefined), '1.2.0');
});
