// podman drives berth-vm as it drives runc: conmon runs create and exec, waits on the pid from
// --pid-file (berth-vm's VM monitor) and reads the exit status from it; podman runs start, kill
// and delete. Two VM boots under TCG: keep it at that.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runCli, type RunResult } from '../../support/cli.ts';
import { vmSkipReason } from '../../support/vm.ts';
import { findOnPath, PodmanEnv } from '../runtime/podman-env.ts';

const podmanBin = findOnPath('podman');
const vmBin = join(repoRoot, 'bin/berth-vm');
const skip = !podmanBin ? 'podman is not installed' : process.getuid?.() !== 0 ? 'podman tests run as root' : vmSkipReason();
const IMAGE = 'localhost/busybox:vm-test';
// podman passes no --root: berth-vm keeps state in its default root.
const STATE = '/run/berth-vm';
const hostRelease = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();

let pm: PodmanEnv;
const ids = new Set<string>();
let seq = 0;

before(() => {
  if (skip) return;
  pm = PodmanEnv.create({ runtimes: { 'berth-vm': vmBin } });
  const tarball = join(pm.dir, 'busybox.tar.gz');
  execFileSync(join(repoRoot, 'scripts/make-busybox-rootfs.sh'), [tarball]);
  assert.equal(pm.importImage(tarball, IMAGE).code, 0);
  rmSync(tarball);
});

after(() => {
  if (!pm) return;
  const forced = pm.cleanup();
  for (const id of ids) {
    if (existsSync(join(STATE, id))) {
      forced.push(`berth-vm state ${join(STATE, id)} left behind`);
      runCli(vmBin, ['delete', '--force', id]);
    }
  }
  assert.deepEqual(forced, [], 'cleanup had to force these');
});

function podman(args: string[]): RunResult {
  return pm.podman(['--runtime', vmBin, ...args], { timeoutMs: 240_000 });
}

/** QEMU or virtiofsd of container `id` (QEMU is named berth-<id>; virtiofsd serves its state dir). */
function vmProcesses(id: string): string[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return cmd.includes(`berth-${id},`) || cmd.includes(`${STATE}/${id}/`);
    } catch {
      return false;
    }
  });
}

function runContainer(runArgs: string[], cmd: string[]): RunResult & { id: string } {
  const cidfile = join(pm.dir, `cid-${seq++}`);
  const r = podman(['run', '--cidfile', cidfile, '--network', 'none', '--cgroup-parent', pm.cgroupParent, ...runArgs, IMAGE, ...cmd]);
  const id = existsSync(cidfile) ? readFileSync(cidfile, 'utf8').trim() : '';
  if (id) ids.add(id);
  return { ...r, id };
}

describe('podman --runtime berth-vm', { skip }, () => {
  it('run --rm: the guest kernel, the output and the exit code come through; nothing stays behind', () => {
    const r = runContainer(['--rm'], ['sh', '-c', 'uname -r; echo to-stderr >&2; exit 4']);
    assert.equal(r.code, 4, r.stderr);
    const release = r.stdout.trim();
    assert.notEqual(release, hostRelease);
    assert.match(release, /cloud-amd64$/);
    assert.match(r.stderr, /to-stderr/);
    assert.deepEqual(vmProcesses(r.id), []);
    assert.equal(existsSync(join(STATE, r.id)), false);
  });

  it('run -d, exec, stop, rm: exec runs in the same guest; stop ends the VM with the status of SIGKILL', () => {
    const r = runContainer(['-d'], ['sleep', '1000']);
    assert.equal(r.code, 0, r.stderr);
    const ex = podman(['exec', r.id, 'sh', '-c', 'uname -r; ps -o pid,args | grep -c "sleep 1000"; exit 5']);
    assert.equal(ex.code, 5, ex.stderr);
    const [release, count] = ex.stdout.trim().split('\n');
    assert.match(release!, /cloud-amd64$/);
    assert.ok(Number(count) >= 1, 'the container process is in the guest exec ran in');
    // sleep is PID 1 in its pid namespace: SIGTERM does nothing, podman's SIGKILL after -t ends it.
    assert.equal(podman(['stop', '-t', '1', r.id]).code, 0);
    assert.equal(podman(['inspect', '--format', '{{.State.ExitCode}}', r.id]).stdout.trim(), '137');
    assert.deepEqual(vmProcesses(r.id), []);
    assert.equal(podman(['rm', r.id]).code, 0);
    assert.equal(existsSync(join(STATE, r.id)), false);
  });
});
