import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Digester, digestHex, isDigest, parseDigest, sha256Of, verifyDigest } from '../../../src/oci/digest.ts';
import { BerthError } from '../../../src/oci/errors.ts';

test('sha256 of known data', () => {
  assert.equal(sha256Of(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const d = new Digester();
  d.update(Buffer.from('a'));
  d.update(Buffer.from('bc'));
  assert.equal(d.digest(), sha256Of('abc'));
  assert.equal(d.size, 3);
});

test('parseDigest validates', () => {
  const ok = sha256Of('x');
  assert.equal(parseDigest(ok), ok);
  assert.equal(digestHex(ok), ok.slice(7));
  assert.ok(isDigest(ok));
  assert.ok(!isDigest('sha256:ABC'));
  for (const bad of ['', 'sha256', 'sha256:', 'sha256:xyz', 'sha256:' + 'A'.repeat(64), ':abc', 'sha256:../../etc']) {
    assert.throws(() => parseDigest(bad), (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument', bad);
  }
  assert.throws(() => parseDigest('sha512:' + 'a'.repeat(128)), (e: unknown) => e instanceof BerthError && e.kind === 'unimplemented');
});

test('verifyDigest reports size and digest mismatches as data-loss', () => {
  const d = sha256Of('abc');
  verifyDigest('blob', { digest: d, size: 3 }, { digest: d, size: 3 });
  assert.throws(() => verifyDigest('blob', { digest: d, size: 4 }, { digest: d, size: 3 }), /size mismatch/);
  assert.throws(() => verifyDigest('blob', { digest: d }, { digest: sha256Of('x'), size: 3 }),
    (e: unknown) => e instanceof BerthError && e.kind === 'data-loss' && /digest mismatch/.test(e.message));
});
