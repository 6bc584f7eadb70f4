// containerd CVE-2021-41103 class: a pulled or loaded image puts a setuid-root program and a 0666
// block device in the store; a running container's rootfs is mounted there too. No other local
// user may reach any of it by path. The attempts are made as `nobody` (setpriv) with a static
// probe that lives outside the store, in directories everyone may enter: only berth's modes stand
// between that user and the files. Also: a store made by an older berth (everything 0755, records
// 0644) is closed, with a warning, the next time berth opens it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { buildImage, writeOciLayout } from '../../fixtures/image/test-image.ts';
import { startRegistry, skopeoCopy, type TestRegistry } from '../../fixtures/image/registry.ts';
import { DEVICE_NODE, SETUID_PROGRAM, hostileLayers } from '../../fixtures/hardening/hostile-image.ts';
import { buildProbe, probeResults } from '../../fixtures/hardening/probe.ts';
import { listTree } from '../../support/tree.ts';
import { repoRoot, runCli, type RunResult } from '../../support/cli.ts';

const berthBin = join(repoRoot, 'bin/berth');
let work = '';
let probe = '';
let registry: TestRegistry | undefined;
const stores: string[] = [];

function berth(root: string, ...args: string[]): RunResult {
  return runCli(berthBin, ['--root', root, ...args], { timeoutMs: 60_000 });
}
function ok(root: string, ...args: string[]): string {
  const r = berth(root, ...args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs the probe as nobody:nogroup with no supplementary groups. */
function asNobody(...probes: string[]): Record<string, string> {
  const r = runCli('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', probe, ...probes]);
  assert.equal(r.code, 0, r.stderr);
  return probeResults(r.stdout);
}

/** Every path under `root` named `rel` (a snapshot's copy, a mounted rootfs's copy...). */
function findAll(root: string, rel: string): string[] {
  return listTree(root, (_r, p) => p).filter((p) => p.endsWith(`/${rel}`));
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-hardening-store-'));
  // Everyone may walk down to the store roots: only berth's own modes may stop them there.
  chmodSync(work, 0o755);
  mkdirSync(join(work, 'tools'), { mode: 0o755 });
  probe = buildProbe(join(work, 'tools'));
  const img = buildImage({ layers: hostileLayers(readFileSync(probe)), cmd: ['sh'] });
  writeOciLayout(img, join(work, 'layout'), 'v1');
  registry = await startRegistry();
  skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${registry.host}/hardening/hostile:v1`, ['--preserve-digests']);

  const loaded = join(work, 'loaded');
  ok(loaded, 'load', '-i', join(work, 'layout'));
  // A kept container: its rootfs stays mounted in the store after it exits.
  ok(loaded, 'run', '--name', 'kept', 'loaded:v1', 'true');
  stores.push(loaded);

  const pulled = join(work, 'pulled');
  ok(pulled, 'pull', '-q', `${registry.host}/hardening/hostile:v1`);
  // A background container: monitor, log, attach socket and a mounted rootfs in the store.
  ok(pulled, 'run', '-d', '--name', 'running', '-e', 'SECRET=hunter2', `${registry.host}/hardening/hostile:v1`, 'sleep', '300');
  stores.push(pulled);
});

after(async () => {
  for (const root of stores) {
    const containers = join(root, 'containers');
    for (const id of existsSync(containers) ? readdirSync(containers) : []) berth(root, 'rm', '--force', id);
  }
  await registry?.stop();
  if (!work) return;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(work)) execFileSync('umount', ['-l', mp]);
  }
  rmSync(work, { recursive: true, force: true });
});

test('the probe runs as nobody from outside the store, and nobody cannot read /etc/shadow itself', () => {
  assert.deepEqual(asNobody('shadow', `exec:${probe}`), { shadow: 'EACCES' });
});

test("an image's setuid-root program in the store cannot be run by another user", () => {
  for (const root of stores) {
    const copies = findAll(root, SETUID_PROGRAM);
    // Each store holds it in a layer snapshot and in a container's mounted rootfs.
    assert.ok(copies.some((p) => p.includes('/snapshots/')) && copies.some((p) => p.includes('/containers/')), copies.join('\n'));
    for (const path of copies) {
      const st = lstatSync(path);
      assert.equal(st.mode & 0o7777, 0o4755, `${path} is setuid as the image says`);
      assert.equal(st.uid, 0);
      assert.deepEqual(asNobody(`exec:${path}`), { [`exec:${path}`]: 'EACCES' }, `nobody ran ${path}`);
    }
  }
});

test("an image's device node in the store cannot be opened by another user", () => {
  for (const root of stores) {
    const nodes = findAll(root, DEVICE_NODE);
    assert.ok(nodes.length >= 2, nodes.join('\n'));
    for (const path of nodes) {
      const st = lstatSync(path);
      assert.ok(st.isBlockDevice() && st.rdev === (7 << 8), `${path} is b 7:0`);
      assert.equal(st.mode & 0o777, 0o666);
      assert.deepEqual(asNobody(`open:${path}`), { [`open:${path}`]: 'EACCES' });
    }
  }
});

test('nothing under a store root is open to other users: records, logs, sockets, runtime state', () => {
  for (const root of stores) {
    assert.equal(lstatSync(root).mode & 0o777, 0o711, `${root} may be passed, not listed`);
    const top = readdirSync(root);
    assert.ok(top.includes('containers') && top.includes('snapshots') && top.includes('content') && top.includes('runtime'), top.join(' '));
    // What is directly under the root has no group or other bits, so nothing deeper is reachable.
    const open = top.map((n) => join(root, n)).filter((p) => lstatSync(p).mode & 0o077);
    assert.deepEqual(open, []);
    const probes = [root, ...top.map((n) => join(root, n))].map((p) => `open:${p}`);
    for (const path of listTree(join(root, 'containers'), (_r, p) => p).filter((p) => !p.includes('/rootfs/'))) probes.push(`open:${path}`);
    const results = asNobody(...probes);
    for (const p of probes) assert.equal(results[p], 'EACCES', `${p} as nobody`);
  }
  // The records themselves are private too, whatever their directory's mode.
  const pulled = stores[1]!;
  const [id] = readdirSync(join(pulled, 'containers'));
  const dir = join(pulled, 'containers', id!);
  assert.match(readFileSync(join(dir, 'config.json'), 'utf8'), /SECRET=hunter2/);
  for (const f of ['config.json', 'meta.json']) assert.equal(lstatSync(join(dir, f)).mode & 0o777, 0o600, f);
  assert.equal(lstatSync(join(dir, 'attach.sock')).mode & 0o077, 0, 'attach socket');
  assert.equal(lstatSync(join(dir, 'container.log')).mode & 0o007, 0, 'log');
  assert.equal(lstatSync(join(pulled, 'runtime')).mode & 0o777, 0o700, 'runtime state root');
  assert.equal(lstatSync(join(pulled, 'runtime', id!, 'state.json')).mode & 0o777, 0o600, 'runtime state');
});

test('a store an older berth left open is closed the next time berth opens it, with a warning', () => {
  // The plain test image: its setuid file is text, harmless while this store is open.
  const root = join(work, 'old');
  writeOciLayout(buildImage(), join(work, 'plain'), 'v1');
  ok(root, 'load', '-q', '-i', join(work, 'plain'));
  ok(root, 'run', '--name', 'old', 'loaded:v1', 'true');
  // What berth before this change left: 0755 directories, 0644 records and database.
  for (const p of listTree(root, (_r, p) => p).filter((p) => !p.includes('/rootfs/') && !p.includes('/fs/'))) {
    const st = lstatSync(p);
    if (st.isDirectory()) chmodSync(p, 0o755);
    else if (st.isFile()) chmodSync(p, 0o644);
  }
  chmodSync(root, 0o755);
  stores.push(root);

  const r = berth(root, 'images', '-q');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^berth: warning: the store at .*old was open to other users \(made by an older berth\?\): closed \., containers, content, locks, metadata\.db, metadata\.db-journal, network, runtime, snapshots, space-reserve, tmp\n/m);
  assert.match(r.stderr, /^berth: warning: the records of 1 container\(s\) in .*containers were open to other users/m);
  assert.equal(lstatSync(root).mode & 0o777, 0o711);
  for (const n of readdirSync(root)) assert.equal(lstatSync(join(root, n)).mode & 0o077, 0, n);
  const [id] = readdirSync(join(root, 'containers'));
  for (const f of ['config.json', 'meta.json']) assert.equal(lstatSync(join(root, 'containers', id!, f)).mode & 0o777, 0o600, f);
  const suid = findAll(root, 'bin/suid');
  assert.ok(suid.length >= 2);
  for (const path of suid) assert.deepEqual(asNobody(`open:${path}`), { [`open:${path}`]: 'EACCES' });
  // Once closed, berth says nothing more.
  assert.equal(berth(root, 'images', '-q').stderr, '');
});
