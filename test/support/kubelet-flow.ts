// The kubelet-shaped flow every CRI implementation berth is compared with must pass: pull, run a
// pod, create + start a container in it, ExecSync, statuses, List with filters, log file, stop,
// remove — asserting what the kubelet relies on at each step. It takes only a socket, so the same
// expectations run against containerd (test/interop/cri/containerd-client.test.ts) and berthd.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient, GrpcStatus } from './cri-client.ts';

export interface KubeletFlowOptions {
  /** Image the container runs: busybox with /bin/pause (test/support/pause-image.ts). */
  image: string;
  /** The pod's linux.cgroup_parent (a test-owned path: cleanup removes what is below it). */
  cgroupParent: string;
  /** The pod's log_directory (must exist). */
  logDirectory: string;
  /** Distinguishes this run's pod name, uid and labels from other runs'. */
  tag: string;
  /** When set, the pod IP must lie in this IPv4 /24 (`10.1.2.0/24`). */
  subnet?: string;
}

export interface KubeletFlowResult {
  podId: string;
  containerId: string;
  podIp: string;
  runtimeName: string;
}

/** The RuntimeService calls the flow makes. */
export const FLOW_RPCS = ['Version', 'RunPodSandbox', 'PodSandboxStatus', 'CreateContainer', 'StartContainer', 'ContainerStatus', 'ExecSync', 'ListPodSandbox', 'ListContainers', 'StopContainer', 'RemoveContainer', 'StopPodSandbox', 'RemovePodSandbox'];

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The pod's sandbox config, as a kubelet would send it (also passed again to CreateContainer). */
export function flowSandboxConfig(opts: Pick<KubeletFlowOptions, 'cgroupParent' | 'logDirectory' | 'tag'>, name = 'flow'): Any {
  return {
    metadata: { name: `${name}-${opts.tag}`, namespace: 'berth-flow', uid: `uid-${name}-${opts.tag}`, attempt: 0 },
    hostname: `${name}-${opts.tag}`.slice(0, 63),
    log_directory: opts.logDirectory,
    labels: { app: 'flow', run: opts.tag },
    annotations: { 'berth.test/flow': 'yes' },
    linux: {
      cgroup_parent: `${opts.cgroupParent}/pod-${name}-${opts.tag}`,
      security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
    },
  };
}

export function flowContainerConfig(image: string, name = 'main'): Any {
  return {
    metadata: { name, attempt: 0 },
    image: { image },
    command: ['/bin/sh', '-c', 'echo started; exec /bin/pause'],
    log_path: `${name}/0.log`,
    labels: { role: name },
    annotations: { 'berth.test/container': name },
  };
}

async function expectCode(call: Promise<unknown>, code: number, what: string): Promise<void> {
  const err = await call.then(
    () => null,
    (e: { code: number; details: string }) => e,
  );
  assert.ok(err, `${what}: expected gRPC code ${code}, the call succeeded`);
  assert.equal(err.code, code, `${what}: expected gRPC code ${code}, got ${err.code} (${err.details})`);
}

/** Waits until `read()` satisfies `ok`, polling every 20 ms (the CRI has no event for a log line). */
async function eventually<T>(read: () => Promise<T> | T, ok: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new assert.AssertionError({ message: `${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(v)}` });
    await new Promise((r) => setTimeout(r, 20));
  }
}

function inSubnet(ip: string, subnet: string): boolean {
  const prefix = subnet.replace(/\.0\/24$/, '.');
  return ip.startsWith(prefix);
}

export async function runKubeletFlow(socket: string, opts: KubeletFlowOptions): Promise<KubeletFlowResult> {
  const cri = new CriClient(socket);
  const rt = (m: string, r: object = {}) => cri.runtime(m, r);
  try {
    const version = await rt('Version', { version: 'v1' });
    assert.equal(version.runtime_api_version, 'v1');

    await cri.image('PullImage', { image: { image: opts.image } });
    const imageStatus = await cri.image('ImageStatus', { image: { image: opts.image } });
    assert.ok(imageStatus.image?.id, `ImageStatus of ${opts.image} after the pull has an id`);
    assert.ok(imageStatus.image.repo_tags.includes(opts.image), `repo_tags ${JSON.stringify(imageStatus.image.repo_tags)} name ${opts.image}`);

    const sandboxConfig = flowSandboxConfig(opts);
    const { pod_sandbox_id: podId } = await rt('RunPodSandbox', { config: sandboxConfig });
    assert.match(podId, /^[0-9a-f]{64}$/, 'a pod id is 64 hex digits');

    const pod = (await rt('PodSandboxStatus', { pod_sandbox_id: podId })).status;
    assert.equal(pod.id, podId);
    assert.equal(pod.state, 'SANDBOX_READY');
    assert.deepEqual(pod.metadata, sandboxConfig.metadata);
    assert.equal(pod.labels.app, 'flow');
    assert.equal(pod.annotations['berth.test/flow'], 'yes');
    assert.ok(BigInt(pod.created_at) > 0n, 'created_at is set');
    const podIp: string = pod.network?.ip ?? '';
    assert.match(podIp, /^\d+\.\d+\.\d+\.\d+$/, 'the pod has an IPv4 address from CNI');
    if (opts.subnet) assert.ok(inSubnet(podIp, opts.subnet), `pod IP ${podIp} lies in ${opts.subnet}`);

    const containerConfig = flowContainerConfig(opts.image);
    const { container_id: containerId } = await rt('CreateContainer', { pod_sandbox_id: podId, config: containerConfig, sandbox_config: sandboxConfig });
    assert.match(containerId, /^[0-9a-f]{64}$/, 'a container id is 64 hex digits');
    let status = (await rt('ContainerStatus', { container_id: containerId })).status;
    assert.equal(status.state, 'CONTAINER_CREATED');
    assert.deepEqual(status.metadata, containerConfig.metadata);

    await rt('StartContainer', { container_id: containerId });
    status = (await rt('ContainerStatus', { container_id: containerId })).status;
    assert.equal(status.state, 'CONTAINER_RUNNING');
    assert.ok(BigInt(status.started_at) > 0n, 'started_at is set once running');
    assert.equal(status.image.image, opts.image);
    assert.match(status.image_ref, /sha256:[0-9a-f]{64}$/, 'image_ref names the image by digest');
    assert.equal(status.labels.role, 'main');
    assert.equal(status.log_path, join(opts.logDirectory, 'main/0.log'));

    const exec = await rt('ExecSync', { container_id: containerId, cmd: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'], timeout: 10 });
    assert.equal(exec.exit_code, 3, 'a non-zero exit is an exit_code, not an error');
    assert.equal(Buffer.from(exec.stdout).toString(), 'out\n');
    assert.equal(Buffer.from(exec.stderr).toString(), 'err\n');
    const host = await rt('ExecSync', { container_id: containerId, cmd: ['/bin/hostname'], timeout: 10 });
    assert.equal(host.exit_code, 0);
    assert.equal(Buffer.from(host.stdout).toString().trim(), sandboxConfig.hostname, "the container has the pod's hostname");

    // The CRI log format: `<RFC 3339 nano time> <stream> <P|F> <text>`.
    const logLine = await eventually(
      () => {
        try {
          return readFileSync(status.log_path, 'utf8');
        } catch {
          return '';
        }
      },
      (t) => t.includes('started'),
      `the container's first line in ${status.log_path}`,
    );
    assert.match(logLine, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) stdout F started$/m);

    const podIds = async (filter: object) => (await rt('ListPodSandbox', { filter })).items.map((p: { id: string }) => p.id);
    assert.deepEqual(await podIds({ id: podId }), [podId]);
    assert.ok((await podIds({ state: { state: 'SANDBOX_READY' } })).includes(podId));
    assert.ok(!(await podIds({ state: { state: 'SANDBOX_NOTREADY' } })).includes(podId));
    assert.deepEqual(await podIds({ label_selector: { app: 'flow', run: opts.tag } }), [podId]);
    assert.deepEqual(await podIds({ label_selector: { app: 'other' } }), []);
    const listed = (await rt('ListPodSandbox', { filter: { id: podId } })).items[0];
    assert.equal(listed.state, 'SANDBOX_READY');
    assert.deepEqual(listed.metadata, sandboxConfig.metadata);

    const containerIds = async (filter: object) => (await rt('ListContainers', { filter })).containers.map((c: { id: string }) => c.id);
    assert.deepEqual(await containerIds({ pod_sandbox_id: podId }), [containerId]);
    assert.deepEqual(await containerIds({ id: containerId }), [containerId]);
    assert.deepEqual(await containerIds({ pod_sandbox_id: podId, state: { state: 'CONTAINER_RUNNING' } }), [containerId]);
    assert.deepEqual(await containerIds({ pod_sandbox_id: podId, state: { state: 'CONTAINER_EXITED' } }), []);
    assert.deepEqual(await containerIds({ pod_sandbox_id: podId, label_selector: { role: 'main' } }), [containerId]);
    assert.deepEqual(await containerIds({ pod_sandbox_id: podId, label_selector: { role: 'sidecar' } }), []);
    const listedContainer = (await rt('ListContainers', { filter: { id: containerId } })).containers[0];
    assert.equal(listedContainer.pod_sandbox_id, podId);
    assert.equal(listedContainer.state, 'CONTAINER_RUNNING');
    // containerd 1.6 lists the image id (config digest) here and the repo digest in ContainerStatus.
    assert.match(listedContainer.image_ref, /sha256:[0-9a-f]{64}$/);

    // /bin/pause exits 0 on SIGTERM: the stop ends well within the grace period.
    await rt('StopContainer', { container_id: containerId, timeout: 10 });
    status = (await rt('ContainerStatus', { container_id: containerId })).status;
    assert.equal(status.state, 'CONTAINER_EXITED');
    assert.equal(status.exit_code, 0);
    assert.equal(status.reason, 'Completed');
    assert.ok(BigInt(status.finished_at) >= BigInt(status.started_at), 'finished_at is set and not before started_at');
    await rt('StopContainer', { container_id: containerId, timeout: 10 }); // idempotent

    await rt('RemoveContainer', { container_id: containerId });
    assert.deepEqual(await containerIds({ pod_sandbox_id: podId }), []);
    await expectCode(rt('ContainerStatus', { container_id: containerId }), GrpcStatus.NOT_FOUND, 'ContainerStatus of a removed container');

    await rt('StopPodSandbox', { pod_sandbox_id: podId });
    const stopped = (await rt('PodSandboxStatus', { pod_sandbox_id: podId })).status;
    assert.equal(stopped.state, 'SANDBOX_NOTREADY');
    await rt('StopPodSandbox', { pod_sandbox_id: podId }); // idempotent
    await rt('RemovePodSandbox', { pod_sandbox_id: podId });
    assert.deepEqual(await podIds({ id: podId }), []);
    await expectCode(rt('PodSandboxStatus', { pod_sandbox_id: podId }), GrpcStatus.NOT_FOUND, 'PodSandboxStatus of a removed pod');
    return { podId, containerId, podIp, runtimeName: version.runtime_name };
  } finally {
    cri.close();
  }
}
