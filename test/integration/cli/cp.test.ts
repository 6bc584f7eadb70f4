// berth cp against real containers: both directions, tar streams, docker's naming, and symlinks in
// the container that must never reach host paths outside the rootfs, for reading and writing,
// including a container that swaps a directory for a symlink while copies run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../support/cli.ts';
import { berthBin, busyboxStore, type BusyboxStore } from '../../support/busybox-store.ts';
import { tarArchive } from '../../../src/image/tar-writer.ts';

const IMAGE = 'localhost/cp:1';
let work: string;
let root: string;
let store: BusyboxStore;
/** A host directory the container must never reach: its path does not exist inside the container. */
let secret: string;
const berth = (...args: string[]): RunResult => store.berth(...args);
const ok = (...args: string[]): string => store.ok(...args);

before(() => {
  store = busyboxStore('berth-test-cp-', IMAGE);
  ({ work, root } = store);
  secret = join(work, 'host-secret');
  mkdirSync(secret);
  writeFileSync(join(secret, 'key'), 'host only\n');
  ok('run', '-d', '--name', 'box', IMAGE, 'sh', '-c', `mkdir -p /data/sub && echo inner > /data/sub/file && ln -s ${secret} /data/escape && ln -s / /data/root && echo ready > /ready; exec sleep 300`);
  for (let i = 0; i < 100 && berth('exec', 'box', 'test', '-e', '/ready').code !== 0; i++) execFileSync('sleep', ['0.05']);
});

after(() => store.cleanup());

const untouchedSecret = (): void => assert.deepEqual(readdirSync(secret), ['key'], 'nothing was written into the host directory');

test('cp out: a file, a directory, its contents (/.), and a tar stream on stdout', () => {
  const out = join(work, 'out');
  mkdirSync(out);
  ok('cp', 'box:/data/sub/file', join(out, 'copy'));
  assert.equal(readFileSync(join(out, 'copy'), 'utf8'), 'inner\n');
  ok('cp', 'box:/data/sub', out);
  assert.equal(readFileSync(join(out, 'sub/file'), 'utf8'), 'inner\n');
  ok('cp', 'box:/data/sub/.', join(out, 'flat'));
  assert.deepEqual(readdirSync(join(out, 'flat')), ['file']);
  ok('cp', 'box:/data', join(out, 'data'));
  assert.equal(readlinkSync(join(out, 'data/escape')), secret, 'a symlink is copied as a symlink');
  const tar = spawnSync(berthBin, ['--root', root, 'cp', 'box:/data/sub', '-']);
  assert.equal(tar.status, 0);
  const listed = execFileSync('tar', ['-t'], { input: tar.stdout }).toString().trim().split('\n');
  assert.deepEqual(listed, ['sub/', 'sub/file']);
});

test('cp in: a file, a directory, and a tar stream on stdin', () => {
  const src = join(work, 'in');
  mkdirSync(join(src, 'tree/deep'), { recursive: true });
  writeFileSync(join(src, 'tree/deep/f'), 'from host\n');
  writeFileSync(join(src, 'one'), '1\n');
  ok('cp', join(src, 'one'), 'box:/tmp/renamed');
  ok('cp', join(src, 'tree'), 'box:/tmp');
  assert.equal(ok('exec', 'box', 'cat', '/tmp/renamed', '/tmp/tree/deep/f'), '1\nfrom host\n');
  const tar = execFileSync('tar', ['-C', src, '-c', 'tree']);
  const r = spawnSync(berthBin, ['--root', root, 'cp', '-', 'box:/root'], { input: tar });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(ok('exec', 'box', 'cat', '/root/tree/deep/f'), 'from host\n');
  const missing = berth('cp', join(src, 'one'), 'box:/no/such/dir/');
  assert.deepEqual([missing.code, missing.stderr], [1, 'berth: the destination directory /no/such/dir/ does not exist\n']);
  assert.equal(berth('cp', 'nosuch:/x', work).stderr, 'berth: no such container: "nosuch"\n');
});

test("a container's symlinks resolve inside its rootfs: reading and writing through them never reaches the host", () => {
  // /data/escape -> the host's secret directory (absolute): inside the rootfs that path does not exist.
  const r = berth('cp', 'box:/data/escape/key', join(work, 'stolen'));
  assert.equal(r.code, 1, r.stderr);
  assert.equal(existsSync(join(work, 'stolen')), false);
  // /data/root -> /: climbs nowhere; /data/root/etc/passwd is the container's own.
  ok('cp', 'box:/data/root/etc/passwd', join(work, 'passwd'));
  assert.equal(readFileSync(join(work, 'passwd'), 'utf8'), ok('exec', 'box', 'cat', '/etc/passwd'));
  // Writing through the symlink lands inside the container, never in the host directory.
  writeFileSync(join(work, 'planted'), 'x\n');
  assert.match(berth('cp', join(work, 'planted'), 'box:/data/escape/').stderr, /the destination directory \/data\/escape\/ does not exist/);
  ok('exec', 'box', 'mkdir', '-p', secret);
  ok('cp', join(work, 'planted'), 'box:/data/escape/');
  untouchedSecret();
  assert.equal(ok('exec', 'box', 'cat', `${secret}/planted`), 'x\n', 'created inside the rootfs at that path');
  // An archive whose own symlink leads out, then a file through it: refused.
  const stream = tarArchive([
    { name: 'pkg/', type: 'dir', mode: 0o755 },
    { name: 'pkg/link', type: 'symlink', linkname: secret },
    { name: 'pkg/link/pwned', type: 'file', mode: 0o644, data: 'pwned\n' },
  ]);
  const res = spawnSync(berthBin, ['--root', root, 'cp', '-', 'box:/tmp'], { input: stream });
  assert.notEqual(res.status, 0);
  assert.match(res.stderr.toString(), /pkg\/link is not a directory \(a symlink is never followed\)/);
  untouchedSecret();
});

test('a container swapping a directory for a symlink to the host path during copies: nothing leaks either way', () => {
  // The container flips /race/sub between a real directory and a symlink to the secret's path.
  ok('exec', '-d', 'box', 'sh', '-c', `echo $$ > /race.pid; mkdir -p /race/sub.real && echo mine > /race/sub.real/key && while :; do ln -sfn ${secret} /race/sub.tmp && mv -T /race/sub.tmp /race/sub; rm -f /race/sub; mv -T /race/sub.real /race/sub 2>/dev/null; mv -T /race/sub /race/sub.real; done`);
  const up = join(work, 'up');
  mkdirSync(join(up, 'sub'), { recursive: true });
  writeFileSync(join(up, 'sub/pwned'), 'x\n');
  for (let i = 0; i < 6; i++) {
    const out = join(work, `race-${i}`);
    berth('cp', 'box:/race', out); // may fail when nothing is there at that moment: never leaks
    // sub is copied as the container had it at that moment: a directory with its file, or the symlink itself.
    const sub = join(out, 'sub');
    // (Its files are the container's own, or what the copies in put there: never the host's key.)
    if (existsSync(sub) && !lstatSync(sub).isSymbolicLink()) for (const f of readdirSync(sub)) assert.ok(['mine\n', 'x\n'].includes(readFileSync(join(sub, f), 'utf8')), f);
    else if (existsSync(sub)) assert.equal(readlinkSync(sub), secret);
    berth('cp', up, 'box:/race');
    berth('cp', join(up, 'sub/pwned'), 'box:/race/sub/');
    untouchedSecret();
  }
  ok('exec', 'box', 'sh', '-c', 'kill $(cat /race.pid)');
});
