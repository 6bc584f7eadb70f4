// `kill -9` of berthd in the middle of RunPodSandbox (while a CNI plugin of the pod's network
// runs) and of CreateContainer (while the runtime's create runs under the container's monitor):
// the restarted berthd lists the pod or container in a true state or not at all, removes the
// half-made parts, and the kubelet's retry with the same name works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcStatus } from '../../support/cri-client.ts';
import { eventually, startPodEnv, type PodEnv } from '../../support/cri-pod-env.ts';
import { containerConfigFor, podConfigFor } from '../../support/cri-requests.ts';

const skip = !existsSync('/usr/lib/cni/bridge') || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;

let env: PodEnv;
let dir: string;
/** While this file exists, the hook (CNI plugin or runtime create) records its pid in `entered` and waits; then it goes on. */
let hang: string;
let entered: string;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-crash-'));
  hang = join(dir, 'hang');
  entered = join(dir, 'entered');
  const hangHere = `[ -e ${hang} ] && { echo $$ > ${entered}.tmp && mv ${entered}.tmp ${entered}; while [ -e ${hang} ]; do sleep 0.05; done; }`;
  mkdirSync(join(dir, 'cni'));
  const plugin = join(dir, 'cni', 'berth-test-hang');
  // A chained CNI plugin that hangs at ADD while told to, and otherwise passes the result on.
  writeFileSync(plugin, `#!/bin/sh\ncase "$CNI_COMMAND" in\nVERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}'; exit 0;;\nADD) ${hangHere}; python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["prevResult"]))';;\nesac\nexit 0\n`);
  const runtime = join(dir, 'hang-runc');
  writeFileSync(runtime, `#!/bin/sh\nfor a in "$@"; do [ "$a" = create ] && ${hangHere}; done\nexec /usr/sbin/runc "$@"\n`);
  chmodSync(plugin, 0o755);
  chmodSync(runtime, 0o755);
  env = await startPodEnv({ runtimes: { hang: runtime }, cniBinDirs: [join(dir, 'cni')] });
  await env.d.client.image('PullImage', { image: { image: env.image } });
  const conf = join(env.d.cniConfDir, '10-pods.conflist');
  const list = JSON.parse(readFileSync(conf, 'utf8'));
  list.plugins.push({ type: 'berth-test-hang' });
  writeFileSync(conf, JSON.stringify(list));
});

after(async () => {
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The addresses host-local holds (one file per address in its data dir). */
function allocatedAddresses(): string[] {
  const ipam = join(env.work, 'ipam');
  if (!existsSync(ipam)) return [];
  return readdirSync(ipam, { recursive: true }).map(String).filter((f) => /(^|\/)\d+\.\d+\.\d+\.\d+$/.test(f));
}

const rt = (method: string, req: object = {}) => env.d.client.runtime(method, req);

/**
 * Starts `call`, waits until the hook waits in it, kills berthd with SIGKILL, lets the hook finish
 * its work with nobody to answer (as a plugin or runtime berthd ran does after a crash), restarts.
 */
async function killBerthdDuring(call: () => Promise<unknown>): Promise<void> {
  writeFileSync(hang, '');
  const pending = call().then(
    () => assert.fail('the call answered although berthd was killed'),
    (err: { code: number }) => assert.equal(err.code, GrpcStatus.UNAVAILABLE),
  );
  let hookPid = 0;
  try {
    hookPid = await eventually(() => Number(readFileSync(entered, 'utf8')), 30_000);
    env.d.child.kill('SIGKILL');
    await env.d.exited;
    await pending;
    unlinkSync(hang);
    await eventually(() => assert.ok(!existsSync(`/proc/${hookPid}`), `hook ${hookPid} still running`), 30_000);
  } finally {
    if (existsSync(hang)) unlinkSync(hang);
    if (existsSync(entered)) unlinkSync(entered);
    if (hookPid && existsSync(`/proc/${hookPid}`)) process.kill(hookPid, 'SIGKILL');
  }
  env.d.client.close();
  env.d = await env.restart();
}

test('kill -9 during RunPodSandbox (a CNI plugin running): after the restart the pod is ready or gone, nothing half-made is left, the retry works', { skip }, async () => {
  const config = podConfigFor(env, 'crashpod');
  await killBerthdDuring(() => rt('RunPodSandbox', { config }));
  const listed = (await rt('ListPodSandbox', {})).items as Array<{ id: string; state: string }>;
  if (listed.length === 0) {
    assert.deepEqual(env.leftovers(), [], 'an unlisted pod left nothing');
    assert.deepEqual(allocatedAddresses(), [], 'the address host-local gave the unlisted pod is released');
  }
  // Either way what is listed must be true: a READY pod has its network namespace.
  for (const p of listed) {
    const s = await rt('PodSandboxStatus', { pod_sandbox_id: p.id, verbose: true });
    if (s.status.state === 'SANDBOX_READY') assert.ok(existsSync(JSON.parse(s.info.info).netNamespacePath));
    await rt('RemovePodSandbox', { pod_sandbox_id: p.id });
  }
  assert.deepEqual(env.leftovers(), []);
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config });
  assert.equal((await rt('PodSandboxStatus', { pod_sandbox_id: podId })).status.state, 'SANDBOX_READY');
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.deepEqual(env.leftovers(), []);
  assert.deepEqual(allocatedAddresses(), []);
});

test('kill -9 during CreateContainer (its monitor up, the runtime creating): after the restart the container is listed truly or not at all, the retry works', { skip }, async () => {
  const config = podConfigFor(env, 'crashc');
  const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config, runtime_handler: 'hang' });
  const container = containerConfigFor(env, 'app', ['/bin/sleep', '3600']);
  await killBerthdDuring(() => rt('CreateContainer', { pod_sandbox_id: podId, config: container, sandbox_config: config }));
  assert.equal((await rt('PodSandboxStatus', { pod_sandbox_id: podId })).status.state, 'SANDBOX_READY', 'the pod survived');
  const listed = (await rt('ListContainers', { filter: { pod_sandbox_id: podId } })).containers as Array<{ id: string; state: string }>;
  if (listed.length === 0) {
    assert.deepEqual(readdirSync(join(env.d.root, 'containers')), [], 'an unlisted container has no record, snapshot or bundle');
    const runcState = join(env.d.state, 'runtimes', 'hang');
    assert.deepEqual(existsSync(runcState) ? readdirSync(runcState) : [], [], 'nor runtime state');
    assert.deepEqual(env.leftovers().filter((l) => !l.includes(podId) && !l.startsWith('veths on')), [], 'nor a monitor or mount');
  }
  for (const c of listed) {
    // The kubelet removes a container it does not know (its create never answered).
    const s = await rt('ContainerStatus', { container_id: c.id, verbose: true });
    assert.ok(['CONTAINER_CREATED', 'CONTAINER_EXITED', 'CONTAINER_UNKNOWN'].includes(s.status.state), s.status.state);
    await rt('RemoveContainer', { container_id: c.id });
  }
  const { container_id: id } = await rt('CreateContainer', { pod_sandbox_id: podId, config: container, sandbox_config: config });
  await rt('StartContainer', { container_id: id });
  assert.equal((await rt('ContainerStatus', { container_id: id })).status.state, 'CONTAINER_RUNNING');
  await rt('RemovePodSandbox', { pod_sandbox_id: podId });
  assert.deepEqual(env.leftovers(), []);
});
