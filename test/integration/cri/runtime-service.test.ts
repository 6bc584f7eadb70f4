// berthd's RuntimeService, kubelet-shaped, through the real socket: real CNI plugins (bridge,
// host-local, portmap) on this run's own bridge and subnet, the busybox test image from a local
// registry; a pod of two containers with a hostPort answering on 127.0.0.1, logs, exec, stop,
// remove, and nothing left on the host afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../fixtures/image/registry.ts';
import { GrpcStatus, statusCode } from '../../support/cri-client.ts';
import { cgroupParentOf, eventually, httpGet, removeTestCgroups, startPodEnv, type PodEnv } from '../../support/cri-pod-env.ts';

const skip = !existsSync('/usr/lib/cni/bridge') || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;

let env: PodEnv;

before(async () => {
  if (skip) return;
  env = await startPodEnv();
  await env.d.client.image('PullImage', { image: { image: env.image } });
});

after(async () => {
  await env?.teardown();
  removeTestCgroups(env?.id ?? 'none');
});

function podConfig(name: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}-${env.id}`, attempt: 0 },
    hostname: name,
    log_directory: join(env.work, 'logs', name),
    dns_config: { servers: ['10.0.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
    labels: { app: name, run: env.id },
    linux: { cgroup_parent: `/${cgroupParentOf(env.id)}`, security_context: { namespace_options: { pid: 'CONTAINER' } } },
    ...extra,
  };
}

function containerConfig(name: string, command: string[], extra: Record<string, unknown> = {}) {
  return { metadata: { name, attempt: 0 }, image: { image: env.image }, command, log_path: `${name}/0.log`, labels: { c: name }, ...extra };
}

const rt = (method: string, req: object = {}) => env.d.client.runtime(method, req);

test('a pod of two containers: hostPort on 127.0.0.1, DNS and hosts files, logs, stop and remove leave nothing', { skip }, async () => {
  const hostPort = await freePort();
  const config = podConfig('web', { port_mappings: [{ protocol: 'TCP', container_port: 8080, host_port: hostPort, host_ip: '127.0.0.1' }] });
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config });
  assert.match(podId, /^[0-9a-f]{64}$/);

  const status = await rt('PodSandboxStatus', { pod_sandbox_id: podId, verbose: true });
  assert.equal(status.status.state, 'SANDBOX_READY');
  const ip: string = status.status.network.ip;
  assert.ok(ip.startsWith(env.subnet.prefix), `pod IP ${ip} in ${env.subnet.subnet}`);
  assert.equal(status.status.linux.namespaces.options.pid, 'CONTAINER');
  const info = JSON.parse(status.info.info);
  assert.ok(existsSync(info.netNamespacePath));

  const web = await rt('CreateContainer', {
    pod_sandbox_id: podId,
    config: containerConfig('web', ['/bin/sh', '-c', 'mkdir -p /tmp/www && echo "hello $(cat /etc/hostname)" > /tmp/www/index.html && exec /bin/busybox httpd -f -p 8080 -h /tmp/www']),
    sandbox_config: config,
  });
  const logger = await rt('CreateContainer', {
    pod_sandbox_id: podId,
    config: containerConfig('logger', ['/bin/sh', '-c', 'cat /etc/resolv.conf; cat /etc/hosts; echo to-stderr >&2; exec sleep 3600']),
    sandbox_config: config,
  });
  let listed = await rt('ListContainers', { filter: { pod_sandbox_id: podId } });
  assert.deepEqual(listed.containers.map((c: { state: string }) => c.state), ['CONTAINER_CREATED', 'CONTAINER_CREATED']);
  await rt('StartContainer', { container_id: web.container_id });
  await rt('StartContainer', { container_id: logger.container_id });

  assert.equal(await eventually(() => httpGet(`http://127.0.0.1:${hostPort}/index.html`)), 'hello web\n');

  listed = await rt('ListContainers', { filter: { state: { state: 'CONTAINER_RUNNING' }, label_selector: { c: 'logger' } } });
  assert.deepEqual(listed.containers.map((c: { id: string }) => c.id), [logger.container_id]);
  const cs = await rt('ContainerStatus', { container_id: logger.container_id });
  assert.equal(cs.status.state, 'CONTAINER_RUNNING');
  assert.equal(cs.status.log_path, join(env.work, 'logs', 'web', 'logger/0.log'));
  assert.ok(BigInt(cs.status.started_at) > 0n);

  const log = await eventually(() => {
    const text = readFileSync(cs.status.log_path, 'utf8');
    if (!text.includes('to-stderr')) throw new Error(`log so far: ${text}`);
    return text;
  });
  assert.match(log, /^\S+ stdout F search default\.svc\.cluster\.local$/m);
  assert.match(log, /^\S+ stdout F nameserver 10\.0\.0\.10$/m);
  assert.match(log, new RegExp(`^\\S+ stdout F ${ip.replaceAll('.', '\\.')}\\tweb$`, 'm'));
  assert.match(log, /^\S+ stderr F to-stderr$/m);

  await rt('StopContainer', { container_id: logger.container_id, timeout: 2 });
  const stopped = await rt('ContainerStatus', { container_id: logger.container_id });
  assert.equal(stopped.status.state, 'CONTAINER_EXITED');
  // sleep is PID 1 of its PID namespace: SIGTERM has no effect, SIGKILL comes after the timeout.
  assert.equal(stopped.status.reason, 'Error');
  assert.equal(stopped.status.exit_code, 137);
  assert.ok(BigInt(stopped.status.finished_at) - BigInt(stopped.status.started_at) > 0n);
  await rt('StopContainer', { container_id: logger.container_id, timeout: 2 });

  await rt('StopPodSandbox', { pod_sandbox_id: podId });
  await rt('StopPodSandbox', { pod_sandbox_id: podId });
  const pods = await rt('ListPodSandbox', { filter: { id: podId } });
  assert.equal(pods.items[0].state, 'SANDBOX_NOTREADY');
  await assert.rejects(httpGet(`http://127.0.0.1:${hostPort}/index.html`));
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.deepEqual((await rt('ListContainers', {})).containers, []);
  assert.deepEqual((await rt('ListPodSandbox', {})).items, []);
  assert.deepEqual(env.leftovers(), []);
});

/** A running pod with one started container running `script`. */
async function podWith(name: string, script: string, opts: { handler?: string; podExtra?: Record<string, unknown>; containerExtra?: Record<string, unknown> } = {}) {
  const config = podConfig(name, opts.podExtra);
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config, runtime_handler: opts.handler ?? '' });
  const { container_id: id } = await rt('CreateContainer', { pod_sandbox_id: podId, config: containerConfig(name, ['/bin/sh', '-c', script], opts.containerExtra), sandbox_config: config });
  await rt('StartContainer', { container_id: id });
  return { podId, id, config };
}

test('ExecSync: output and exit code; a non-zero exit is no error; a timeout kills the command and answers DeadlineExceeded', { skip }, async () => {
  const { podId, id } = await podWith('exec', 'exec sleep 3600');
  const r = await rt('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'echo out; echo err >&2; cat /etc/hostname; exit 7'], timeout: 10 });
  assert.equal(r.stdout.toString(), 'out\nexec\n');
  assert.equal(r.stderr.toString(), 'err\n');
  assert.equal(r.exit_code, 7);

  const started = Date.now();
  const err = await rt('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'sleep 30 & echo started; sleep 30'], timeout: 1 }).catch((e) => e);
  assert.equal(err.code, GrpcStatus.DEADLINE_EXCEEDED, err.details);
  assert.match(err.details, /timeout 1s exceeded/);
  assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
  // The whole tree went: no sleep 30 is left in the container.
  const ps = await rt('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'for p in /proc/[0-9]*; do cat $p/cmdline; echo; done'], timeout: 10 });
  assert.doesNotMatch(ps.stdout.toString().replaceAll('\0', ' '), /sleep 30/);

  assert.equal(await statusCode(rt('ExecSync', { container_id: id, cmd: [] })), GrpcStatus.INVALID_ARGUMENT);
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.equal(await statusCode(rt('ExecSync', { container_id: id, cmd: ['/bin/true'] })), GrpcStatus.NOT_FOUND);
});

test('ReopenContainerLog after the kubelet moves the log: the new file gets the output, the old one stops growing; events stream', { skip }, async () => {
  const events: Array<{ container_id: string; container_event_type: string; containers_statuses: unknown[] }> = [];
  const sub = env.d.client.subscribe('RuntimeService', 'GetContainerEvents', {}, (m) => events.push(m));
  const { podId, id } = await podWith('rotate', 'i=0; while true; do i=$((i+1)); echo line $i; sleep 0.05; done');
  const status = await rt('ContainerStatus', { container_id: id });
  const log = status.status.log_path;
  await eventually(() => assert.match(readFileSync(log, 'utf8'), /line 3$/m));
  renameSync(log, `${log}.1`);
  await rt('ReopenContainerLog', { container_id: id });
  const moved = readFileSync(`${log}.1`, 'utf8');
  await eventually(() => assert.match(readFileSync(log, 'utf8'), /stdout F line \d+\n.*stdout F line \d+\n/));
  assert.equal(readFileSync(`${log}.1`, 'utf8'), moved, 'the old file stopped growing');
  const last = Number(/line (\d+)\n$/.exec(moved)![1]);
  assert.equal(Number(/line (\d+)\n/.exec(readFileSync(log, 'utf8'))![1]), last + 1, 'no line lost between the files');

  await rt('StopContainer', { container_id: id, timeout: 0 });
  assert.equal(await statusCode(rt('ReopenContainerLog', { container_id: id })), GrpcStatus.FAILED_PRECONDITION);
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  await eventually(() => assert.ok(events.some((e) => e.container_event_type === 'CONTAINER_DELETED_EVENT')));
  sub.cancel();
  await sub.ended;
  const mine = events.filter((e) => e.container_id === id).map((e) => e.container_event_type);
  assert.deepEqual(mine, ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);
  const stoppedEvent = events.find((e) => e.container_id === id && e.container_event_type === 'CONTAINER_STOPPED_EVENT')!;
  assert.equal((stoppedEvent.containers_statuses[0] as { state: string }).state, 'CONTAINER_EXITED');
});

test('a pod on the runc handler: its container runs under runc, exec works, stop and remove clean up', { skip }, async () => {
  const { podId, id } = await podWith('runc', 'echo hi from runc; exec sleep 3600', { handler: 'runc' });
  const pod = await rt('PodSandboxStatus', { pod_sandbox_id: podId });
  assert.equal(pod.status.runtime_handler, 'runc');
  const info = JSON.parse((await rt('ContainerStatus', { container_id: id, verbose: true })).info.info);
  assert.equal(info.runtimeHandler, 'runc');
  const state = JSON.parse(execFileSync('/usr/sbin/runc', ['--root', join(env.d.state, 'runtimes', 'runc'), 'state', id], { encoding: 'utf8' }));
  assert.equal(state.status, 'running');
  const r = await rt('ExecSync', { container_id: id, cmd: ['/bin/cat', '/etc/hostname'], timeout: 10 });
  assert.equal(r.stdout.toString(), 'runc\n');
  const err = await rt('ExecSync', { container_id: id, cmd: ['/bin/sleep', '30'], timeout: 1 }).catch((e) => e);
  assert.equal(err.code, GrpcStatus.DEADLINE_EXCEEDED);
  await rt('UpdateContainerResources', { container_id: id, linux: { cpu_shares: 512 } });
  assert.equal(readFileSync(`/sys/fs/cgroup/cpu/${cgroupParentOf(env.id)}/${id}/cpu.shares`, 'utf8').trim(), '512');
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.equal(spawnSync('/usr/sbin/runc', ['--root', join(env.d.state, 'runtimes', 'runc'), 'state', id]).status, 1);
  assert.equal(await statusCode(rt('RunPodSandbox', { config: podConfig('kata'), runtime_handler: 'kata' })), GrpcStatus.NOT_FOUND);
});

test('kill -9 berthd with pods running: the new one lists them as they are, an exit meanwhile is known, stop and remove work', { skip }, async () => {
  const a = await podWith('survivor', 'while true; do echo tick; sleep 0.1; done');
  const survivorLog = join(env.work, 'logs', 'survivor', 'survivor', '0.log');
  const b = await podWith('quitter', 'sleep 3; exit 3');
  const beforeKill = (await rt('PodSandboxStatus', { pod_sandbox_id: a.podId })).status.network.ip;
  env.d.child.kill('SIGKILL');
  await env.d.exited;
  env.d.client.close();
  try {
    // b ends while no berthd runs; its monitor records the exit.
    const quitterPid = readInitPid(b.id);
    await eventually(() => assert.ok(!existsSync(`/proc/${quitterPid}`)), 10_000);
    // The monitor keeps writing the survivor's log meanwhile.
    const size = statSync(survivorLog).size;
    await eventually(() => assert.ok(statSync(survivorLog).size > size));
  } finally {
    env.d = await env.restart();
  }

  const pods = await rt('ListPodSandbox', { filter: { label_selector: { run: env.id } } });
  assert.deepEqual(pods.items.map((p: { id: string; state: string }) => [p.id, p.state]).sort(), [[a.podId, 'SANDBOX_READY'], [b.podId, 'SANDBOX_READY']].sort());
  assert.equal((await rt('PodSandboxStatus', { pod_sandbox_id: a.podId })).status.network.ip, beforeKill);
  assert.equal((await rt('ContainerStatus', { container_id: a.id })).status.state, 'CONTAINER_RUNNING');
  const quit = await eventually(async () => {
    const s = (await rt('ContainerStatus', { container_id: b.id })).status;
    assert.equal(s.state, 'CONTAINER_EXITED');
    return s;
  });
  assert.equal(quit.exit_code, 3);
  assert.equal(quit.reason, 'Error');
  assert.ok(BigInt(quit.finished_at) > BigInt(quit.started_at));
  await rt('StopContainer', { container_id: a.id, timeout: 0 });
  assert.equal((await rt('ContainerStatus', { container_id: a.id })).status.state, 'CONTAINER_EXITED');
  await rt('RemovePodSandbox', { pod_sandbox_id: a.podId });
  await rt('RemovePodSandbox', { pod_sandbox_id: b.podId });
  assert.deepEqual(env.leftovers(), []);
});

function readInitPid(id: string): number {
  const meta = JSON.parse(readFileSync(join(env.d.root, 'containers', id, 'meta.json'), 'utf8'));
  return meta.init.pid;
}

test('hostile requests get InvalidArgument or NotFound with a message; the daemon stays up', { skip }, async () => {
  const code = (p: Promise<unknown>) => statusCode(p);
  for (const m of ['PodSandboxStatus', 'StopPodSandbox', 'RemovePodSandbox']) assert.equal(await code(rt(m, { pod_sandbox_id: '' })), GrpcStatus.INVALID_ARGUMENT, m);
  assert.equal(await code(rt('PodSandboxStatus', { pod_sandbox_id: 'f'.repeat(64) })), GrpcStatus.NOT_FOUND);
  assert.equal(await code(rt('ContainerStatus', { container_id: 'nope' })), GrpcStatus.NOT_FOUND);
  assert.equal(await code(rt('StartContainer', { container_id: 'nope' })), GrpcStatus.NOT_FOUND);
  assert.equal(await code(rt('CreateContainer', { pod_sandbox_id: 'nope', config: containerConfig('x', ['/bin/true']) })), GrpcStatus.NOT_FOUND);
  // Stop and remove of what does not exist succeed.
  await rt('StopContainer', { container_id: 'nope' });
  await rt('RemoveContainer', { container_id: 'nope' });
  await rt('StopPodSandbox', { pod_sandbox_id: 'nope' });

  const bad = async (config: Record<string, unknown>, re: RegExp) => {
    const err = await rt('RunPodSandbox', { config }).catch((e) => e);
    assert.equal(err.code, GrpcStatus.INVALID_ARGUMENT, err.details);
    assert.match(err.details, re);
  };
  await bad(podConfig(''), /metadata\.name: required/);
  await bad(podConfig('sysctl', { linux: { sysctls: { 'kernel.shm_rmid_forced': '1+kernel.core_pattern=|/bin/evil' } } }), /sysctls/);
  await bad(podConfig('sysctl2', { linux: { sysctls: { 'net.ipv4.ip_forward': '1=1' } } }), /sysctls/);
  const huge: Record<string, string> = {};
  for (let i = 0; i < 20_000; i++) huge[`key-${i}`] = 'v'.repeat(64);
  await bad(podConfig('labels', { labels: huge }), /labels/);

  const { podId, config } = await podWith('hostile', 'exec sleep 3600');
  const container = async (c: Record<string, unknown>, re: RegExp) => {
    const err = await rt('CreateContainer', { pod_sandbox_id: podId, config: c, sandbox_config: config }).catch((e) => e);
    assert.equal(err.code, GrpcStatus.INVALID_ARGUMENT, err.details);
    assert.match(err.details, re);
  };
  await container(containerConfig('dots', ['/bin/true'], { log_path: '../../etc/evil.log' }), /log_path/);
  const link = join(env.work, 'proc-link');
  symlinkSync('/proc/1', link);
  await container(containerConfig('proclink', ['/bin/true'], { mounts: [{ container_path: '/host', host_path: link }] }), /resolves through a symlink.*\/proc/);
  await container(containerConfig('', ['/bin/true']), /metadata\.name/);
  // The same name twice is refused while the first holds it.
  assert.equal(await code(rt('CreateContainer', { pod_sandbox_id: podId, config: containerConfig('hostile', ['/bin/true']), sandbox_config: config })), GrpcStatus.ALREADY_EXISTS);
  // Nothing half-made is left by the failures: only the pod's one container.
  assert.equal((await rt('ListContainers', { filter: { pod_sandbox_id: podId } })).containers.length, 1);
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.equal((await rt('Version', { version: 'v1' })).runtime_name, 'berth');
});

test('a failed RunPodSandbox leaves nothing, and a retry with the same name succeeds', { skip }, async () => {
  // A bad request fails before anything is made; a missing plugin fails after bridge and host-local ran.
  const config = podConfig('retry', { port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 70000 }] });
  assert.equal(await statusCode(rt('RunPodSandbox', { config })), GrpcStatus.INVALID_ARGUMENT);
  const conf = join(env.d.cniConfDir, '10-pods.conflist');
  const good = readFileSync(conf, 'utf8');
  writeFileSync(conf, good.replace('"type":"portmap"', '"type":"no-such-plugin"'));
  try {
    const err = await rt('RunPodSandbox', { config: podConfig('retry') }).catch((e) => e);
    assert.notEqual(err.code, undefined);
    assert.match(err.details, /no-such-plugin/);
  } finally {
    writeFileSync(conf, good);
  }
  assert.deepEqual((await rt('ListPodSandbox', {})).items, []);
  assert.deepEqual(env.leftovers(), []);
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config: podConfig('retry') });
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('a pod with one PID namespace (crictl\'s default): the infra process is PID 1, the containers see each other', { skip }, async () => {
  const config = podConfig('shared', { linux: { cgroup_parent: `/${cgroupParentOf(env.id)}` } });
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config });
  assert.equal((await rt('PodSandboxStatus', { pod_sandbox_id: podId })).status.linux.namespaces.options.pid, 'POD');
  const ids: string[] = [];
  for (const name of ['one', 'two']) {
    const { container_id: id } = await rt('CreateContainer', { pod_sandbox_id: podId, config: containerConfig(name, ['/bin/sleep', `${name === 'one' ? 3601 : 3602}`]), sandbox_config: config });
    await rt('StartContainer', { container_id: id });
    ids.push(id);
  }
  const ps = await rt('ExecSync', { container_id: ids[0], cmd: ['/bin/sh', '-c', 'cat /proc/1/cmdline; echo; for p in /proc/[0-9]*; do cat $p/cmdline; echo; done'], timeout: 10 });
  const lines = ps.stdout.toString().replaceAll('\0', ' ').split('\n');
  assert.equal(lines[0], '/pause --pause ');
  assert.ok(lines.includes('/bin/sleep 3601 ') && lines.includes('/bin/sleep 3602 '), lines.join('\n'));
  assert.deepEqual((await rt('ListContainers', { filter: { pod_sandbox_id: podId } })).containers.length, 2, 'the infra is no CRI container');
  await rt('StopPodSandbox', { pod_sandbox_id: podId });
  for (const id of ids) assert.equal((await rt('ContainerStatus', { container_id: id })).status.state, 'CONTAINER_EXITED');
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.deepEqual(env.leftovers(), []);
});

test('what no record names after a crash (a pod whose record never got written) is removed when berthd starts', { skip }, async () => {
  const { podId, id } = await podWith('orphan', 'exec sleep 3600');
  env.d.child.kill('SIGKILL');
  await env.d.exited;
  env.d.client.close();
  // As if berthd died before writing the records: the namespaces, shm, CNI attachment and container exist.
  unlinkSync(join(env.d.root, 'cri', 'pods', `${podId}.json`));
  unlinkSync(join(env.d.root, 'cri', 'containers', `${id}.json`));
  env.d = await env.restart();
  await env.d.waitForLog(/start-up clean-up: removed what no record named/);
  assert.deepEqual((await rt('ListPodSandbox', {})).items, []);
  assert.deepEqual(env.leftovers(), []);
});
