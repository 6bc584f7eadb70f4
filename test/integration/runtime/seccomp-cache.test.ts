// Compiled seccomp filters are kept in the state root (src/runtime/seccomp-cache.ts): a second
// container with the same profile uses the kept filter, a damaged entry is compiled again, and
// the cache is not a container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../../../src/oci/runtime-spec.ts';
import { runtimeSuite } from '../../support/runtime-suite.ts';

const { rt, runIn } = runtimeSuite(`sccache-${process.pid}`);

const denyMkdir = (s: Spec): void => {
  s.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
  s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 95 }] };
};
const script = 'mkdir /tmp/a 2>&1; echo "mkdir=$?"';

function entries(): string[] {
  return readdirSync(join(rt.root, 'seccomp@cache')).map((f) => join(rt.root, 'seccomp@cache', f));
}

test('the same profile is compiled once per state root, and a damaged entry is compiled again', () => {
  const first = runIn(script, denyMkdir);
  assert.match(first.out, /Operation not supported\nmkdir=1/, first.err);
  const [entry, ...more] = entries();
  assert.ok(entry);
  assert.deepEqual(more, []);
  const written = statSync(entry).mtimeMs;
  const bytes = readFileSync(entry);

  const second = runIn(script, denyMkdir);
  assert.match(second.out, /Operation not supported\nmkdir=1/, second.err);
  assert.equal(statSync(entry).mtimeMs, written, 'the kept filter was used, not rewritten');

  writeFileSync(entry, Buffer.concat([bytes.subarray(0, 4), Buffer.alloc(16, 0xff)])); // not a program the kernel takes
  const third = runIn(script, denyMkdir);
  assert.match(third.out, /Operation not supported\nmkdir=1/, third.err);
  assert.deepEqual(readFileSync(entry), bytes, 'compiled again and kept again');

  const other = runIn(script, (s) => {
    denyMkdir(s);
    s.linux!.seccomp!.syscalls![0]!.errnoRet = 1;
  });
  assert.match(other.out, /Operation not permitted\nmkdir=1/, other.err);
  assert.equal(entries().length, 2, 'another profile, another entry');
});

test('the cache directory is not listed as a container', () => {
  assert.ok(entries().length > 0);
  assert.equal(rt.ok(['list', '-q']), '');
  assert.equal(rt.ok(['list', '--format', 'json']), '[]\n');
});
