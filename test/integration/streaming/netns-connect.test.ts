// berth-spawn --netns-connect and the fd it hands back: a connected socket in the namespace given,
// as a net.Socket here; refusals and a missing namespace as typed errors; no process, no fd left.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { BerthError } from '../../../src/oci/errors.ts';
import { connectInNetns } from '../../../src/sys/netns-connect.ts';
import { receiveFd, unixSocketPair } from '../../../src/sys/fd-passing.ts';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinNamespaces, unpinNamespaces } from '../../../src/runtime/namespace-pins.ts';

const echo = createServer((s) => s.pipe(s));
let port = 0;
before(() => new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => ((port = (echo.address() as AddressInfo).port), r()))));
const work = mkdtempSync(join(tmpdir(), 'berth-test-netns-connect-'));
after(() => {
  echo.close();
  rmSync(work, { recursive: true, force: true });
});

const openFds = (): number => readdirSync('/proc/self/fd').length;

test('a connection made in the namespace carries bytes both ways; half-close passes', async () => {
  const fds = openFds();
  const s = await connectInNetns('/proc/self/ns/net', port);
  assert.equal(s.remotePort, port);
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.end(Buffer.alloc(1 << 20, 7));
  await new Promise((r) => s.on('close', r));
  assert.equal(Buffer.concat(chunks).length, 1 << 20);
  assert.equal(openFds(), fds, 'nothing stays open');
});

test('50 at once, each its own socket', async () => {
  const sockets = await Promise.all(Array.from({ length: 50 }, () => connectInNetns('/proc/self/ns/net', port)));
  assert.equal(new Set(sockets.map((s) => s.localPort)).size, 50);
  for (const s of sockets) s.destroy();
});

test('refused and missing namespace are typed errors', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const closed = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  await assert.rejects(connectInNetns('/proc/self/ns/net', closed), (e: unknown) => e instanceof BerthError && e.kind === 'unavailable' && /ECONNREFUSED/.test(e.message));
  await assert.rejects(connectInNetns('/nonexistent/net', 80), (e: unknown) => e instanceof BerthError && e.kind === 'not-found' && /cannot join the network namespace \/nonexistent\/net: ENOENT/.test(e.message));
});

test('a namespace whose lo is down and whose default route leads nowhere times out, not hangs', async () => {
  const pins = await pinNamespaces({ dir: join(work, 'lo-down'), namespaces: ['network'] });
  try {
    execFileSync('nsenter', [`--net=${pins.network}`, 'sh', '-ec', 'ip link add v0 type veth peer name v1; ip link set v1 up; ip link set v0 up; ip addr add 10.251.0.2/24 dev v0; ip route add default via 10.251.0.1']);
    const t0 = performance.now();
    await assert.rejects(connectInNetns(pins.network!, 80, { timeoutMs: 300 }), (e: unknown) => e instanceof BerthError && /ETIMEDOUT \(no answer: is `lo` up/.test(e.message));
    assert.ok(performance.now() - t0 < 5000);
  } finally {
    await unpinNamespaces(pins);
  }
});

test('receiveFd: nothing queued is undefined, a message without an fd has none', () => {
  const [a, b] = unixSocketPair();
  try {
    assert.equal(receiveFd(a), undefined);
    closeSync(b);
    assert.deepEqual(receiveFd(a), { data: Buffer.alloc(0) }, 'EOF: an empty message');
  } finally {
    closeSync(a);
  }
});
