// podman drives berth-runtime as it drives runc: conmon runs `create` (with --console-socket for
// -t) and `exec`, podman runs start/kill/pause/resume/delete. Everything podman keeps lives in one
// temp dir (podman-env.ts); where the container's world is compared, runc under the same podman
// is the reference.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CAPABILITY_NUMBERS } from '../../../src/runtime/capabilities.ts';
import { berthRuntimeBin, repoRoot, runCli, type RunResult } from '../../support/cli.ts';
import { findOnPath, PodmanEnv, ULIMITS } from './podman-env.ts';

const podmanBin = findOnPath('podman');
const runcBin = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p));
const skip = !podmanBin ? 'podman is not installed' : process.getuid?.() !== 0 ? 'podman tests run as root' : false;

const IMAGE = 'localhost/busybox:test';
// The runtimes' default state roots: podman passes no --root (its --runtime-flag does not reach
// the cleanup process conmon runs on exit), so berth and runc keep state where they always do.
const BERTH_STATE = '/run/berth-runtime';
const RUNC_STATE = '/run/runc';

let pm: PodmanEnv;
const ids = new Set<string>();
let cidSeq = 0;

before(() => {
  if (skip) return;
  pm = PodmanEnv.create({ runtimes: { 'berth-runtime': berthRuntimeBin, ...(runcBin ? { runc: runcBin } : {}) } });
  const tarball = join(pm.dir, 'busybox.tar.gz');
  execFileSync(join(repoRoot, 'scripts/make-busybox-rootfs.sh'), [tarball]);
  const r = pm.importImage(tarball, IMAGE);
  assert.equal(r.code, 0, `podman import failed: ${r.stderr}`);
  rmSync(tarball);
});

after(() => {
  if (!pm) return;
  const forced = pm.cleanup();
  // A container's state the runtime did not delete when podman asked it to.
  for (const id of ids) {
    if (existsSync(join(BERTH_STATE, id))) {
      forced.push(`berth-runtime state ${join(BERTH_STATE, id)} left behind`);
      runCli(berthRuntimeBin, ['delete', '--force', id]);
    }
    if (runcBin && existsSync(join(RUNC_STATE, id))) {
      forced.push(`runc state ${join(RUNC_STATE, id)} left behind`);
      runCli(runcBin, ['delete', '--force', id]);
    }
  }
  assert.deepEqual(pm.mountsUnder(), [], 'mounts left under the podman temp dir');
  assert.deepEqual(forced, [], 'cleanup had to force these');
});

/** Runs a container under `runtime`; returns the result and the container's id (from --cidfile). */
function run(runtime: string, runArgs: string[], cmd: string[]): RunResult & { id: string } {
  const cidfile = join(pm.dir, `cid-${cidSeq++}`);
  const r = pm.podman(['--runtime', runtime, 'run', '--cidfile', cidfile, '--network', 'none', '--cgroup-parent', pm.cgroupParent, ...runArgs, IMAGE, ...cmd]);
  const id = existsSync(cidfile) ? readFileSync(cidfile, 'utf8').trim() : '';
  if (id) ids.add(id);
  return { ...r, id };
}

function berth(args: string[]): RunResult {
  return pm.podman(['--runtime', berthRuntimeBin, ...args]);
}

function inspect(name: string, format: string): string {
  const r = berth(['inspect', '--format', format, name]);
  assert.equal(r.code, 0, `podman inspect ${name}: ${r.stderr}`);
  return r.stdout.trim();
}

/** What of a container is still on the host after podman removed it. */
function traces(id: string, stateRoot: string): string[] {
  assert.match(id, /^[0-9a-f]{64}$/, 'podman wrote no container id to --cidfile');
  const left: string[] = [];
  if (existsSync(join(stateRoot, id))) left.push(`state ${join(stateRoot, id)}`);
  left.push(...pm.cgroupDirs().filter((c) => c.includes(id)).map((c) => `cgroup ${c}`));
  return left;
}

function expectOk(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr}`);
}

describe('podman --runtime berth-runtime', { skip }, () => {
  it('run --rm: the output and the exit code come through, nothing stays behind', () => {
    const r = run(berthRuntimeBin, ['--rm'], ['sh', '-c', 'echo hello; exit 3']);
    assert.equal(r.code, 3, `exit code; stderr: ${r.stderr}`);
    assert.equal(r.stdout, 'hello\n');
    assert.match(r.id, /^[0-9a-f]{64}$/);
    assert.equal(berth(['ps', '--all', '--quiet', '--no-trunc']).stdout, '', 'run --rm left a container');
    assert.deepEqual(traces(r.id, BERTH_STATE), []);
  });

  it('run -d, exec, ps, pause/unpause, exec -t, stop -t 2, rm', () => {
    const r = run(berthRuntimeBin, ['--detach', '--name', 'x'], ['sleep', '300']);
    expectOk(r, 'podman run -d');
    assert.equal(r.stdout.trim(), r.id);
    assert.equal(inspect('x', '{{.OCIRuntime}}'), berthRuntimeBin);
    assert.ok(existsSync(join(BERTH_STATE, r.id)), 'berth-runtime holds no state for the container: was it berth that ran it?');

    assert.equal(inspect('x', '{{.State.Status}}'), 'running');
    const pid = Number(inspect('x', '{{.State.Pid}}'));
    assert.ok(pid > 0);
    assert.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\x00300\x00');

    const e = berth(['exec', 'x', 'sh', '-c', 'echo in; hostname']);
    expectOk(e, 'podman exec');
    assert.equal(e.stdout, `in\n${r.id.slice(0, 12)}\n`);
    const failing = berth(['exec', 'x', 'sh', '-c', 'echo out; exit 7']);
    assert.equal(failing.code, 7, `exec exit code; stderr: ${failing.stderr}`);
    assert.equal(failing.stdout, 'out\n');

    const ps = berth(['ps', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
    expectOk(ps, 'podman ps');
    assert.match(ps.stdout, new RegExp(`^${r.id} x Up `));
    assert.equal(ps.stdout.trim().split('\n').length, 1);

    expectOk(berth(['pause', 'x']), 'podman pause');
    assert.equal(inspect('x', '{{.State.Status}}'), 'paused');
    const freezer = readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/^\d+:freezer:(.*)$/m)?.[1];
    assert.ok(freezer?.startsWith(`${pm.cgroupParent}/`), `container freezer cgroup ${freezer}`);
    assert.equal(readFileSync(`/sys/fs/cgroup/freezer${freezer}/freezer.state`, 'utf8').trim(), 'FROZEN');
    expectOk(berth(['unpause', 'x']), 'podman unpause');
    assert.equal(inspect('x', '{{.State.Status}}'), 'running');

    // exec -t: conmon hands the runtime's exec a --console-socket; the pty's output has CRLF.
    const t = berth(['exec', '--tty', 'x', 'sh', '-c', 'tty; exit 5']);
    assert.equal(t.code, 5, `exec -t exit code; stderr: ${t.stderr}`);
    assert.match(t.stdout, /^\/dev\/pts\/\d+\r\n$/);

    // sleep is pid 1 with no handler: SIGTERM is ignored, podman kills it after 2 s (runc alike).
    const started = Date.now();
    const stop = berth(['stop', '--time', '2', 'x']);
    expectOk(stop, 'podman stop');
    assert.equal(stop.stdout, 'x\n');
    assert.ok(Date.now() - started < 15_000, 'stop took too long');
    assert.equal(inspect('x', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
    assert.throws(() => process.kill(pid, 0), 'the container process outlived stop');

    expectOk(berth(['rm', 'x']), 'podman rm');
    assert.equal(berth(['ps', '--all', '--quiet']).stdout, '');
    assert.deepEqual(traces(r.id, BERTH_STATE), []);
  });

  it('run -t: the container gets a terminal through --console-socket', () => {
    const r = run(berthRuntimeBin, ['--rm', '--tty'], ['sh', '-c', 'tty; exit 0']);
    expectOk(r, 'podman run -t');
    assert.equal(r.stdout, '/dev/pts/0\r\n');
    assert.deepEqual(traces(r.id, BERTH_STATE), []);
  });

  describe('runtime errors give the exit codes they give under runc', { skip: runcBin ? false : 'runc is not installed' }, () => {
    // podman turns the runtime's error text into its exit code (libpod getOCIRuntimeError):
    // "no such file or directory" / "executable file not found" -> 127, "permission denied" -> 126.
    for (const [cmd, code, suffix] of [
      ['nosuchcmd', 127, 'OCI runtime attempted to invoke a command that was not found'],
      ['/nonexistent', 127, 'OCI runtime attempted to invoke a command that was not found'],
      ['/etc/passwd', 126, 'OCI permission denied'],
    ] as const) {
      it(`run ${cmd}: exit ${code}, "${suffix}"`, () => {
        const underRunc = run(runcBin!, ['--rm'], [cmd]);
        assert.equal(underRunc.code, code, `runc reference: ${underRunc.stderr}`);
        assert.ok(underRunc.stderr.trim().endsWith(suffix), `runc reference: ${underRunc.stderr}`);
        const underBerth = run(berthRuntimeBin, ['--rm'], [cmd]);
        assert.equal(underBerth.code, code, `podman's exit code; its message: ${underBerth.stderr}`);
        assert.ok(underBerth.stderr.trim().endsWith(suffix), `podman's message: ${underBerth.stderr}`);
        assert.deepEqual(traces(underBerth.id, BERTH_STATE), []);
      });
    }
  });

  describe('the container sees what it sees under runc', { skip: runcBin ? false : 'runc is not installed' }, () => {
    const statusLines = /^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters):/;
    const limitLines = /^Max (open files|processes) /;

    function observe(runtime: string, stateRoot: string): { status: string[]; limits: string[] } {
      const r = run(runtime, ['--rm'], ['sh', '-c', 'cat /proc/self/status; echo ====; cat /proc/self/limits']);
      expectOk(r, `podman --runtime ${runtime} run`);
      assert.deepEqual(traces(r.id, stateRoot), []);
      const [status = '', limits = ''] = r.stdout.split('====\n');
      return {
        status: status.split('\n').filter((l) => statusLines.test(l)),
        limits: limits.split('\n').filter((l) => limitLines.test(l)).map((l) => l.trim().split(/\s{2,}/).join(' | ')),
      };
    }

    it("podman's default capabilities, seccomp and ulimits", () => {
      const underRunc = observe(runcBin!, RUNC_STATE);
      const underBerth = observe(berthRuntimeBin, BERTH_STATE);
      assert.deepEqual(underBerth.status, underRunc.status);
      assert.deepEqual(underBerth.limits, underRunc.limits);

      // And both are what podman asked for: its default capability list, and default_ulimits.
      const names = pm.podman(['info', '--format', '{{.Host.Security.DefaultCapabilities}}']).stdout.trim().split(',');
      assert.ok(names.length > 5, `podman info listed capabilities: ${names.join(',')}`);
      const mask = names.reduce((m, n) => m | (1n << BigInt(CAPABILITY_NUMBERS[n] ?? assert.fail(`unknown capability ${n}`))), 0n);
      const hex = mask.toString(16).padStart(16, '0');
      for (const set of ['CapPrm', 'CapEff', 'CapBnd']) assert.ok(underBerth.status.includes(`${set}:\t${hex}`), `${set} is not ${hex}: ${underBerth.status.join(' ')}`);
      assert.ok(underBerth.status.includes('CapAmb:\t0000000000000000'));
      assert.ok(underBerth.status.includes('Seccomp:\t2'), 'podman default seccomp profile is not in force');
      assert.deepEqual(underBerth.limits, [
        `Max processes | ${ULIMITS.nproc} | ${ULIMITS.nproc} | processes`,
        `Max open files | ${ULIMITS.nofile} | ${ULIMITS.nofile} | files`,
      ]);
    });

    // conmon gives a container run without -i the host's /dev/null as stdin. runc re-opens any
    // stdio fd on /dev/null as the container's own /dev/null, read-write (reOpenDevNull), so no
    // fd into the host's devtmpfs stays in the container, where CAP_CHOWN/CAP_FOWNER could
    // chown/chmod it through /proc/self/fd/0.
    it('stdin from conmon is the container\'s own /dev/null, as runc makes it', () => {
      const script = 'stat -L -c "%d:%i" /proc/self/fd/0 /dev/null | uniq | wc -l; grep ^flags: /proc/self/fdinfo/0';
      const underRunc = run(runcBin!, ['--rm'], ['sh', '-c', script]);
      const underBerth = run(berthRuntimeBin, ['--rm'], ['sh', '-c', script]);
      expectOk(underRunc, 'runc run');
      expectOk(underBerth, 'berth run');
      assert.match(underRunc.stdout, /^1\nflags:\s+0100002\n$/, 'runc reference');
      assert.equal(underBerth.stdout, underRunc.stdout, 'fd 0 (1: the container\'s /dev/null, 2: the host\'s; flags 0100002: O_RDWR)');
    });
  });
});
