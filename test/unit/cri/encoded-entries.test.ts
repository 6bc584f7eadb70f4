// List responses from cached one-entry encodings decode to the same list as a plain encoding, and
// an entry whose version changed is encoded again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCri } from '../../../src/cri/proto-load.ts';
import { cachingSerializer, EncodedEntries } from '../../../src/cri/server/encoded-entries.ts';

const method = loadCri().runtimeService.ListPodSandbox!;
const encode = method.responseSerialize as (v: object) => Buffer;
const decode = method.responseDeserialize as (b: Buffer) => { items: Array<{ id: string; state: string; labels: Record<string, string> }> };

const pod = (id: string, state: string) => ({ id, metadata: { name: id, uid: `u-${id}`, namespace: 'ns', attempt: 1 }, state, created_at: '1700000000000000000', labels: { app: id, tier: 'x' }, annotations: {}, runtime_handler: '' });

test('a list made of cached entries is the plain encoding of the whole list', () => {
  const serialize = cachingSerializer(encode);
  const sources = [{}, {}, {}];
  const items = ['a', 'b', 'c'].map((id) => pod(id, 'SANDBOX_READY'));
  const cached = serialize(new EncodedEntries('items', items.map((message, i) => ({ source: sources[i]!, version: message.state, message }))));
  assert.deepEqual(cached, encode({ items }));
  assert.deepEqual(decode(cached).items.map((p) => p.id), ['a', 'b', 'c']);
  assert.deepEqual(serialize(new EncodedEntries('items', [])), encode({ items: [] }));
});

test('an entry whose version changed is encoded again; an unchanged one comes from the cache', () => {
  let calls = 0;
  const serialize = cachingSerializer((v) => (calls++, encode(v)));
  const source = {};
  serialize(new EncodedEntries('items', [{ source, version: 'SANDBOX_READY', message: pod('a', 'SANDBOX_READY') }]));
  serialize(new EncodedEntries('items', [{ source, version: 'SANDBOX_READY', message: pod('a', 'SANDBOX_READY') }]));
  assert.equal(calls, 1);
  const after = serialize(new EncodedEntries('items', [{ source, version: 'SANDBOX_NOTREADY', message: pod('a', 'SANDBOX_NOTREADY') }]));
  assert.equal(calls, 2);
  assert.equal(decode(after).items[0]!.state, 'SANDBOX_NOTREADY');
  // Anything else goes through the plain encoder.
  assert.deepEqual(serialize({ items: [pod('z', 'SANDBOX_READY')] }), encode({ items: [pod('z', 'SANDBOX_READY')] }));
});
