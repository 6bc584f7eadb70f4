// Pinned pod namespaces: created by berth-spawn, kept alive by a bind mount on a file, joined by
// path, removed without leaving mounts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePinPlan, pinNamespaces, unpinNamespaces } from '../../../src/runtime/namespace-pins.ts';

const work = mkdtempSync(join(tmpdir(), 'berth-test-pins-'));
after(() => rmSync(work, { recursive: true, force: true }));

const mountedBelow = (dir: string): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(`${dir}/`));

test('net, ipc and uts pinned with the pod hostname and a network sysctl; joined by path; unpinned cleanly', async () => {
  const dir = join(work, 'pod1');
  const pins = await pinNamespaces({ dir, namespaces: ['network', 'ipc', 'uts'], hostname: 'pod-one', sysctls: { 'net.ipv4.ip_unprivileged_port_start': '80' } });
  try {
    assert.deepEqual(Object.keys(pins).sort(), ['ipc', 'network', 'uts']);
    assert.equal(execFileSync('nsenter', [`--uts=${pins.uts}`, 'hostname'], { encoding: 'utf8' }).trim(), 'pod-one');
    const links = execFileSync('nsenter', [`--net=${pins.network}`, 'ip', '-o', 'link'], { encoding: 'utf8' });
    assert.deepEqual(links.trim().split('\n').map((l) => l.split(': ')[1]), ['lo'], 'a fresh network namespace');
    assert.equal(execFileSync('nsenter', [`--net=${pins.network}`, 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start'], { encoding: 'utf8' }).trim(), '80');
    assert.notEqual(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim(), '80', 'the host is unchanged');
    assert.notEqual(execFileSync('readlink', [`/proc/self/ns/ipc`], { encoding: 'utf8' }), execFileSync('nsenter', [`--ipc=${pins.ipc}`, 'readlink', '/proc/self/ns/ipc'], { encoding: 'utf8' }));
  } finally {
    await unpinNamespaces(pins);
  }
  assert.deepEqual(mountedBelow(dir), []);
  assert.ok(!existsSync(pins.network!));
});

test('a host-wide sysctl is refused before anything is created', async () => {
  const dir = join(work, 'pod2');
  await assert.rejects(pinNamespaces({ dir, namespaces: ['network'], sysctls: { 'kernel.panic': '1' } }), /not namespaced/);
  assert.throws(() => compilePinPlan({ dir, namespaces: ['network'], sysctls: { 'net.core.somaxconn': '1+kernel.panic=1' } }), /characters/);
  assert.deepEqual(mountedBelow(dir), []);
});

test('a failing pin (a sysctl the kernel lacks) leaves no mount and no file', async () => {
  const dir = join(work, 'pod3');
  await assert.rejects(pinNamespaces({ dir, namespaces: ['network', 'uts'], hostname: 'x', sysctls: { 'net.ipv4.no_such_knob': '1' } }), /no_such_knob/);
  assert.deepEqual(mountedBelow(dir), []);
  assert.ok(!existsSync(join(dir, 'net')) && !existsSync(join(dir, 'uts')));
});
