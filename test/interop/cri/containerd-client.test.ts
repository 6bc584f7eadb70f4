// berth's CRI test client and the kubelet-shaped flow (test/support/kubelet-flow.ts) against a real
// CRI implementation nobody here wrote: Debian's containerd 1.6 with its CRI plugin, runc through
// the runc v2 shim, real CNI plugins, images from a docker-registry on 127.0.0.1. If the flow's
// expectations disagree with containerd, the expectations are wrong. Also checks that the
// containerd fixture leaves nothing behind, even with a pod still running when it stops.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startContainerdCri, type ContainerdCri } from '../../support/containerd.ts';
import { useCriTestWorld } from '../../support/cri-registry.ts';
import { peerLeftovers } from '../../support/peer-leftovers.ts';
import { flowContainerConfig, flowSandboxConfig, runKubeletFlow } from '../../support/kubelet-flow.ts';

const world = useCriTestWorld({ before, after });
const tag = `i${process.pid.toString(36)}`.slice(0, 8);

test('the kubelet flow passes against containerd 1.6 (runc v2 shim, bridge CNI)', async () => {
  const cd = await startContainerdCri({ images: world.images, tag: `${tag}a`.slice(0, 8) });
  try {
    const result = await runKubeletFlow(cd.socket, {
      image: world.images.workloadImage,
      cgroupParent: cd.cgroupParent.path,
      logDirectory: join(world.logs, 'flow'),
      tag,
      subnet: cd.cni.subnet,
    });
    assert.equal(result.runtimeName, 'containerd');
    assert.deepEqual(cd.shimPids(), [], 'no shim is left once the pod is removed');
  } finally {
    await cd.stop();
  }
  assert.deepEqual(peerLeftovers(cd), []);
});

test('stopping the containerd fixture with a pod and a container still running leaves nothing behind', async () => {
  const cd = await startContainerdCri({ images: world.images, tag: `${tag}b`.slice(0, 8) });
  let shims: number[] = [];
  try {
    const opts = { cgroupParent: cd.cgroupParent.path, logDirectory: join(world.logs, 'left'), tag };
    const sandbox = flowSandboxConfig(opts, 'left');
    await cd.client.image('PullImage', { image: { image: world.images.workloadImage } });
    const { pod_sandbox_id: podId } = await cd.client.runtime('RunPodSandbox', { config: sandbox });
    const { container_id: id } = await cd.client.runtime('CreateContainer', { pod_sandbox_id: podId, config: flowContainerConfig(world.images.workloadImage), sandbox_config: sandbox });
    await cd.client.runtime('StartContainer', { container_id: id });
    shims = cd.shimPids();
    assert.equal(shims.length, 1, 'one shim serves the pod');
    assert.ok(cd.cgroupParent.pids().length >= 2, 'the pause process and the container run in the cgroup parent');
  } finally {
    await cd.stop();
  }
  assert.deepEqual(peerLeftovers(cd), []);
  for (const pid of shims) assert.ok(!existsSync(`/proc/${pid}/cmdline`) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cd.socket), `shim ${pid} is gone`);
});
