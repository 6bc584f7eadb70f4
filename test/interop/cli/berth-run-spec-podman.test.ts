// berth run's storage, limit and privilege flags give the OCI spec podman gives for the same
// flags: both run one image with a "runtime" that only copies the bundle's config.json aside and
// fails, and the fields the flags set are compared. Where docker and podman differ on purpose
// (docker's --tmpfs is noexec, podman's /dev/shm is a bind of its own), berth follows docker and
// the test says so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Spec } from '../../../src/oci/runtime-spec.ts';
import { berthIn, repoRoot } from '../../support/cli.ts';
import { findOnPath, PodmanEnv } from '../runtime/podman-env.ts';

const skip = !findOnPath('podman') && 'podman is not installed';
let pm: PodmanEnv;
let root: string;
let dump: string;
let hostDir: string;
const IMAGE = 'localhost/berth-flags:1';
const { berth: berthCli, ok } = berthIn(() => root);

before(() => {
  if (skip) return;
  const dir = join('/tmp', `berth-spec-dump-${process.pid}`);
  mkdirSync(dir, { mode: 0o755 });
  dump = join(dir, 'dump-runtime');
  writeFileSync(
    dump,
    [
      '#!/bin/sh',
      '# create/run: keep the bundle\'s config.json and fail; anything else (delete, state): nothing to do.',
      'bundle=.',
      'cmd=',
      'while [ $# -gt 0 ]; do',
      '  case "$1" in --bundle|-b) bundle=$2; shift ;; create|run) cmd=$1 ;; esac',
      '  shift',
      'done',
      `if [ -n "$cmd" ]; then cp "$bundle/config.json" ${dir}/config.json; echo "config kept" >&2; exit 1; fi`,
      'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(dump, 0o755);
  hostDir = join(dir, 'host');
  mkdirSync(hostDir);
  root = join(dir, 'store');
  pm = PodmanEnv.create({ runtimes: { 'dump-runtime': dump } });
  const tarball = join(pm.dir, 'busybox.tar.gz');
  execFileSync(join(repoRoot, 'scripts/make-busybox-rootfs.sh'), [tarball]);
  assert.equal(pm.importImage(tarball, IMAGE).code, 0);
  ok('import', tarball, IMAGE);
});

after(() => {
  if (skip) return;
  const forced = pm.cleanup();
  rmSync(join(dump, '..'), { recursive: true, force: true });
  assert.deepEqual(forced, [], 'podman left things behind');
});

/** The spec each tool hands its runtime for `flags`. */
function specs(flags: string[]): { berth: Spec; podman: Spec } {
  const kept = join(dump, '..', 'config.json');
  rmSync(kept, { force: true });
  const b = berthCli('run', '--rm', '--runtime', dump, ...flags, IMAGE, 'true');
  assert.match(b.stderr, /config kept/, b.stderr);
  const berth = JSON.parse(readFileSync(kept, 'utf8')) as Spec;
  rmSync(kept);
  const p = pm.podman(['run', '--rm', '--cgroup-parent', pm.cgroupParent, '--network', 'none', ...flags, IMAGE, 'true']);
  assert.ok(existsSync(kept), `podman did not reach the runtime: ${p.stderr}`);
  const podman = JSON.parse(readFileSync(kept, 'utf8')) as Spec;
  return { berth, podman };
}

const mount = (s: Spec, dest: string) => s.mounts!.find((m) => m.destination === dest)!;
const sorted = (xs: readonly string[] | undefined): string[] => [...(xs ?? [])].sort();

test('limits: the same resources, rlimit and oom_score_adj', { skip }, () => {
  const { berth, podman } = specs(['--memory', '64m', '--memory-swap', '96m', '--memory-reservation', '32m', '--cpus', '1.5', '--cpu-shares', '512', '--cpuset-cpus', '0', '--cpuset-mems', '0', '--pids-limit', '42', '--ulimit', 'nofile=100:200', '--oom-score-adj', '500']);
  for (const key of ['memory', 'cpu', 'pids'] as const) assert.deepEqual(berth.linux!.resources![key], podman.linux!.resources![key], key);
  const nofile = (s: Spec) => s.process!.rlimits!.find((r) => r.type === 'RLIMIT_NOFILE');
  assert.deepEqual(nofile(berth), nofile(podman));
  assert.equal(berth.process!.oomScoreAdj, podman.process!.oomScoreAdj);
});

test('--memory alone: swap twice it, as both docker and podman', { skip }, () => {
  const { berth, podman } = specs(['--memory', '64m', '--cpu-quota', '50000', '--cpu-period', '200000']);
  assert.deepEqual(berth.linux!.resources!.memory, podman.linux!.resources!.memory);
  assert.deepEqual(berth.linux!.resources!.cpu, podman.linux!.resources!.cpu);
});

test('privileges: capabilities, no_new_privs, groups, devices and their cgroup rules', { skip }, () => {
  const { berth, podman } = specs(['--cap-drop', 'ALL', '--cap-add', 'net_admin', '--cap-add', 'CAP_KILL', '--security-opt', 'no-new-privileges', '--group-add', '4242', '--device', '/dev/loop-control:/dev/lc0:r']);
  for (const set of ['bounding', 'effective', 'permitted'] as const) assert.deepEqual(sorted(berth.process!.capabilities![set]), sorted(podman.process!.capabilities![set]), set);
  assert.equal(berth.process!.noNewPrivileges, podman.process!.noNewPrivileges);
  assert.deepEqual(berth.process!.user.additionalGids, podman.process!.user.additionalGids);
  // podman's fileMode carries the type bits too (S_IFCHR); runtimes add them either way.
  const dev = (s: Spec) => s.linux!.devices!.filter((d) => d.path === '/dev/lc0').map((d) => ({ ...d, fileMode: d.fileMode! & 0o7777 }));
  assert.deepEqual(dev(berth), dev(podman));
  assert.deepEqual(berth.linux!.resources!.devices, podman.linux!.resources!.devices);
  // Added to and dropped from the defaults (docker's, podman's): the same set.
  const tweaked = specs(['--cap-add', 'SYS_ADMIN', '--cap-drop', 'chown']);
  assert.deepEqual(sorted(tweaked.berth.process!.capabilities!.bounding), sorted(tweaked.podman.process!.capabilities!.bounding));
});

test('storage: a read-only bind, --read-only, a sized tmpfs (docker keeps it noexec, podman does not)', { skip }, () => {
  const { berth, podman } = specs(['-v', `${hostDir}:/app:ro`, '--read-only', '--tmpfs', '/scratch:size=1m']);
  assert.equal(berth.root!.readonly, podman.root!.readonly);
  const app = (s: Spec) => ({ ...mount(s, '/app'), options: sorted(mount(s, '/app').options) });
  assert.deepEqual(app(berth), app(podman));
  const scratch = sorted(mount(berth, '/scratch').options);
  const theirs = sorted(mount(podman, '/scratch').options).filter((o) => !['rw', 'rprivate', 'tmpcopyup'].includes(o));
  assert.deepEqual(scratch.filter((o) => o !== 'noexec'), theirs);
  assert.ok(scratch.includes('noexec'), "docker's --tmpfs default");
});
