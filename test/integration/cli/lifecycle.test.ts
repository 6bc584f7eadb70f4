// berth's lifecycle commands against real containers: restart policies carried out by the exit
// command of each container's monitor (counted, backed off, never undoing a stop or kill, and
// rm -f of a restarting one), kill -s, wait, pause/unpause in the freezer cgroup, rename, inspect.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../support/cli.ts';
import { busyboxStore, type BusyboxStore } from '../../support/busybox-store.ts';
import { processAlive, untilGone } from '../../../src/sys/proc.ts';

const IMAGE = 'localhost/lifecycle:1';
let root: string;
let store: BusyboxStore;
const berth = (...args: string[]): RunResult => store.berth(...args);
const ok = (...args: string[]): string => store.ok(...args);
const inspect = (name: string): any => JSON.parse(ok('inspect', '--type', 'container', name))[0];
const meta = (id: string): any => JSON.parse(readFileSync(join(root, 'containers', id, 'meta.json'), 'utf8'));

before(() => {
  store = busyboxStore('berth-test-life-', IMAGE);
  ({ root } = store);
});

after(() => store.cleanup());

/**
 * Until the container is done with its restart policy: each monitor lives until its exit command
 * (the policy) has finished, so once the last monitor is gone the record says what happened.
 */
async function settled(id: string): Promise<any> {
  for (let i = 0; i < 50; i++) {
    const m = meta(id);
    if (m.monitor && processAlive(m.monitor.pid, m.monitor.startTime)) await untilGone(m.monitor.pid, m.monitor.startTime, 30_000);
    else if (!m.restarting) return m;
    else await new Promise((r) => setTimeout(r, m.restarting.delayMs));
  }
  throw new Error(`container ${id} never settled`);
}

test('--restart on-failure: a container that fails twice then succeeds is restarted twice; logs keep every run', async () => {
  const script = 'n=$(cat /n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /n; echo "try $n"; [ $n -ge 3 ]';
  const id = ok('run', '-d', '--name', 'flaky', '--restart', 'on-failure', IMAGE, 'sh', '-c', script).trim();
  // As docker's: wait ends at an exit the policy restarts after (one of the first two runs, both 1).
  assert.equal(ok('wait', 'flaky'), '1\n');
  const m = await settled(id);
  assert.equal(m.restartCount, 2);
  assert.equal(m.exitCode, 0);
  assert.equal(ok('logs', 'flaky'), 'try 1\ntry 2\ntry 3\n');
  const info = inspect('flaky');
  assert.equal(info.RestartCount, 2);
  assert.deepEqual(info.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 0 });
  assert.equal(info.State.Status, 'exited');
  assert.equal(ok('inspect', '-f', '{{.RestartCount}} {{.State.ExitCode}} {{.State.Restarting}}', 'flaky'), '2 0 false\n');
  ok('rm', 'flaky');
});

test('--restart on-failure:N stops after N restarts; always restarts after exit 0, with doubling delays', async () => {
  const failing = ok('run', '-d', '--restart', 'on-failure:2', IMAGE, 'sh', '-c', 'echo x; exit 4').trim();
  const always = ok('run', '-d', '--restart', 'always', IMAGE, 'sh', '-c', 'echo y').trim();
  const f = await settled(failing);
  assert.equal(f.restartCount, 2);
  assert.equal(f.exitCode, 4);
  assert.equal(ok('logs', failing), 'x\nx\nx\n');
  // always: wait for three restarts, then stop it (its pending or next restart is called off).
  for (let seen = 0; seen < 3; ) {
    const m = meta(always);
    seen = m.restartCount ?? 0;
    if (m.monitor && processAlive(m.monitor.pid, m.monitor.startTime)) await untilGone(m.monitor.pid, m.monitor.startTime, 30_000);
    else await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok([100, 200, 400, 800].includes(meta(always).restartDelayMs), `delay ${meta(always).restartDelayMs}`);
  assert.match(ok('ps', '-a'), /(Up|Restarting \(0\)|Exited \(0\))\s+\S+$/m);
  ok('stop', '-t', '1', always);
  const a = await settled(always);
  const count = a.restartCount;
  assert.equal(a.restarting, undefined);
  assert.equal(inspect(always).State.Status, 'exited');
  assert.equal((await settled(always)).restartCount, count, 'no restart after the stop');
  ok('rm', failing, always);
});

test('stop and kill of a running container with --restart always are never undone', async () => {
  const stopped = ok('run', '-d', '--restart', 'always', IMAGE, 'sleep', '100').trim();
  const killed = ok('run', '-d', '--restart', 'always', IMAGE, 'sleep', '100').trim();
  ok('stop', '-t', '1', stopped);
  ok('kill', killed);
  for (const id of [stopped, killed]) {
    const m = await settled(id);
    assert.equal(m.restartCount, 0, id);
    assert.equal(inspect(id).State.Status, 'exited');
  }
  assert.equal(inspect(killed).State.ExitCode, 137);
  ok('rm', stopped, killed);
});

test('rm -f of a restarting container removes it; its pending restart finds nothing', async () => {
  const id = ok('run', '-d', '--restart', 'always', IMAGE, 'sh', '-c', 'exit 1').trim();
  // After four runs the wait before the next is 1.6 s: long enough to catch it restarting.
  // (The wait happens under the monitor of the run that ended: looked for, not awaited.)
  let m = meta(id);
  for (const deadline = Date.now() + 30_000; (m.restartCount ?? 0) < 4 || !m.restarting; m = meta(id)) {
    assert.ok(Date.now() < deadline, 'four restarts within 30 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(inspect(id).State.Restarting, true);
  assert.match(ok('ps'), /Restarting \(1\)/);
  assert.equal(berth('kill', id).stderr, `berth: container "${id.slice(0, 12)}" is restarting: wait until it runs (kill)\n`);
  ok('rm', '-f', id);
  // The monitor waiting on the restart ends once its exit command found the container gone.
  await untilGone(m.monitor.pid, m.monitor.startTime, 30_000);
  assert.deepEqual(readdirSync(join(root, 'containers')), []);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(root), false);
});

test('kill -s delivers the signal; wait prints exit codes; bad signals and unknown containers are one-line errors', () => {
  const a = ok('run', '-d', IMAGE, 'sh', '-c', 'trap "echo got usr1; exit 5" USR1; echo ready; while :; do sleep 0.1; done').trim();
  const b = ok('run', '-d', IMAGE, 'sh', '-c', 'exit 3').trim();
  for (let i = 0; i < 100 && !ok('logs', a).includes('ready'); i++) execFileSync('sleep', ['0.05']);
  assert.equal(ok('kill', '-s', 'USR1', a.slice(0, 12)), `${a.slice(0, 12)}\n`);
  assert.equal(ok('wait', a, b), '5\n3\n');
  assert.equal(ok('logs', a), 'ready\ngot usr1\n');
  const bad = berth('kill', '-s', 'BOGUS', a);
  assert.deepEqual([bad.code, bad.stderr], [1, 'berth: unknown signal "BOGUS"\n']);
  const none = berth('kill', 'nosuch');
  assert.deepEqual([none.code, none.stderr], [1, 'berth: no such container: "nosuch"\n']);
  assert.equal(berth('wait', 'nosuch').stderr, 'berth: no such container: "nosuch"\n');
  assert.match(berth('kill', a).stderr, /^berth: container "[0-9a-f]{12}" is not running \(kill\)\n$/);
  ok('rm', a, b);
});

/** Whether the process's cgroup is frozen, read from the v1 freezer or the v2 cgroup.freeze and cgroup.events. */
function freezerOf(pid: number): () => boolean {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = lines.find((l) => l.split(':')[1] === 'freezer');
  if (v1) {
    const dir = join('/sys/fs/cgroup/freezer', v1.split(':')[2]!);
    return () => readFileSync(join(dir, 'freezer.state'), 'utf8').trim() === 'FROZEN';
  }
  const dir = join('/sys/fs/cgroup', lines.find((l) => l.startsWith('0::'))!.slice(3));
  return () => {
    const asked = readFileSync(join(dir, 'cgroup.freeze'), 'utf8').trim() === '1';
    assert.equal(/^frozen 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8')), asked, 'cgroup.events agrees with cgroup.freeze');
    return asked;
  };
}

test('pause freezes the container in its freezer cgroup, ps and inspect say paused; unpause thaws it', () => {
  ok('run', '-d', '--name', 'frozen', IMAGE, 'sleep', '100');
  const pid = Number(ok('inspect', '-f', '{{.State.Pid}}', 'frozen').trim());
  const frozen = freezerOf(pid);
  assert.equal(frozen(), false);
  assert.equal(ok('pause', 'frozen'), 'frozen\n');
  assert.equal(frozen(), true);
  assert.match(ok('ps'), /Up \(Paused\)\s+frozen$/m);
  assert.equal(inspect('frozen').State.Status, 'paused');
  assert.equal(berth('pause', 'frozen').stderr, 'berth: container "frozen" is already paused\n');
  ok('unpause', 'frozen');
  assert.equal(frozen(), false);
  assert.equal(inspect('frozen').State.Status, 'running');
  assert.equal(berth('unpause', 'frozen').stderr, 'berth: container "frozen" is not paused (unpause)\n');
  // A paused container stops (thawed to take its signal) and is removed.
  ok('pause', 'frozen');
  ok('stop', '-t', '1', 'frozen');
  assert.equal(inspect('frozen').State.Status, 'exited');
  ok('rm', 'frozen');
});

test('rename; inspect is docker-shaped, --format reads fields, and images are still inspected', () => {
  const id = ok('run', '-d', '--name', 'old', '-e', 'K=v', IMAGE, 'sleep', '100').trim();
  ok('run', '-d', '--name', 'other', IMAGE, 'true');
  assert.equal(berth('rename', 'old', 'other').stderr, 'berth: container name "other" is already in use\n');
  assert.equal(berth('rename', 'old', '-bad').code, 125, 'a flag, as docker reads it: a usage error');
  ok('rename', 'old', 'new');
  assert.match(ok('ps'), /\snew$/m);
  const info = inspect('new');
  assert.equal(info.Id, id);
  assert.equal(info.Name, '/new');
  assert.deepEqual([info.Path, info.Args], ['sleep', ['100']]);
  assert.equal(info.State.Running, true);
  assert.ok(info.State.Pid > 0 && processAlive(info.State.Pid));
  assert.match(info.State.StartedAt, /^\d{4}-\d\d-\d\dT/);
  assert.equal(info.State.FinishedAt, '0001-01-01T00:00:00Z');
  assert.ok(info.Config.Env.includes('K=v'));
  assert.equal(info.Config.Image, IMAGE);
  assert.equal(info.LogPath, join(root, 'containers', id, 'container.log'));
  assert.deepEqual(info.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  // run -d without --log-opt has the default rotation: 10 MiB x 3.
  assert.deepEqual(info.HostConfig.LogConfig.Config, { 'max-size': '10485760', 'max-file': '3' });
  assert.equal(ok('inspect', '-f', '{{json .Config.Env}}', 'new').trim(), JSON.stringify(info.Config.Env));
  const badField = berth('inspect', '-f', '{{.State.Nope}}', 'new');
  assert.deepEqual([badField.code, badField.stderr], [1, "berth: --format: can't evaluate field Nope in .State\n"]);
  const image = JSON.parse(ok('inspect', IMAGE))[0];
  assert.equal(image.name, IMAGE);
  assert.equal(berth('inspect', '--type', 'container', IMAGE).code, 1);
  ok('rm', '-f', 'new', 'other');
});

test('--restart is checked before anything is made', () => {
  const before = readdirSync(join(root, 'containers'));
  assert.equal(berth('run', '-d', '--restart', 'sometimes', IMAGE, 'true').stderr, 'berth: --restart "sometimes": invalid restart policy (no, on-failure[:N], always or unless-stopped)\n');
  assert.equal(berth('run', '-d', '--rm', '--restart', 'always', IMAGE, 'true').stderr, 'berth: conflicting options: --restart and --rm\n');
  assert.equal(berth('run', '--restart', 'always', IMAGE, 'true').code, 125);
  assert.deepEqual(readdirSync(join(root, 'containers')), before);
});
