import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerInspect, dockerMounts, dockerStatus } from '../../../src/containers/docker-inspect.ts';
import type { ContainerInfo } from '../../../src/containers/list.ts';

test("statuses in docker's words", () => {
  assert.equal(dockerStatus({ status: 'running' }), 'running');
  assert.equal(dockerStatus({ status: 'running', paused: true }), 'paused');
  assert.equal(dockerStatus({ status: 'restarting' }), 'restarting');
  assert.equal(dockerStatus({ status: 'stopped' }), 'exited');
  assert.equal(dockerStatus({ status: 'created' }), 'created');
  assert.equal(dockerStatus({ status: 'creating', abandoned: true }), 'dead');
});

test('Mounts lists what the user asked for (binds, tmpfs), not the mounts every container has', () => {
  const mounts = dockerMounts([
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs' },
    { destination: '/app', type: 'bind', source: '/home/me/app', options: ['rbind', 'ro', 'rslave'] },
    { destination: '/cache', type: 'tmpfs', source: 'tmpfs', options: ['size=64m'] },
  ]);
  assert.deepEqual(mounts, [
    { Type: 'bind', Source: '/home/me/app', Destination: '/app', Mode: 'ro', RW: false, Propagation: 'rslave' },
    { Type: 'tmpfs', Source: '', Destination: '/cache', Mode: '', RW: true, Propagation: '' },
  ]);
});

test('a restarting container: Running and Restarting, no Pid, the last exit code, the restart count and policy', () => {
  const info = {
    id: 'a'.repeat(64), name: 'web', image: 'localhost/web:1', command: ['sh', '-c', 'exit 1'], created: '2026-01-02T03:04:05Z',
    status: 'restarting', exitCode: 1, finished: '2026-01-02T03:04:07.000000000Z', started: '2026-01-02T03:04:06.000000000Z',
    init: { pid: 4242, startTime: 1 }, restartCount: 3, restartPolicy: { name: 'on-failure', maximumRetryCount: 5 }, logLimits: { maxSize: 1000, maxFiles: 2 },
  } as ContainerInfo;
  const out = dockerInspect(info, undefined) as any;
  assert.deepEqual([out.State.Status, out.State.Running, out.State.Restarting, out.State.Pid, out.State.ExitCode], ['restarting', true, true, 0, 1]);
  assert.deepEqual([out.Name, out.Path, out.Args, out.RestartCount], ['/web', 'sh', ['-c', 'exit 1'], 3]);
  assert.deepEqual(out.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 5 });
  assert.deepEqual(out.HostConfig.LogConfig.Config, { 'max-size': '1000', 'max-file': '2' });
  const never = dockerInspect({ ...info, status: 'created', exitCode: undefined, started: undefined, finished: undefined } as ContainerInfo, undefined) as any;
  assert.deepEqual([never.State.StartedAt, never.State.FinishedAt, never.State.ExitCode], ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z', 0]);
});
