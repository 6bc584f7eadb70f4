// The kubelet-shaped flow that containerd passes (test/interop/cri/containerd-client.test.ts), run
// against berthd with the same images, the same CNI plugins and the same expectations; then a
// check that berthd's fixture leaves nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startBerthdCri, unimplementedRpcs } from '../../support/berthd-cri.ts';
import { useCriTestWorld } from '../../support/cri-registry.ts';
import { peerLeftovers } from '../../support/peer-leftovers.ts';
import { FLOW_RPCS, runKubeletFlow } from '../../support/kubelet-flow.ts';

const world = useCriTestWorld({ before, after });
const tag = `f${process.pid.toString(36)}`.slice(0, 8);

test('the kubelet flow passes against berthd, as it does against containerd', async (t) => {
  const bd = await startBerthdCri({ images: world.images, tag });
  try {
    const missing = await unimplementedRpcs(bd.client, FLOW_RPCS);
    if (missing.length) {
      t.skip(`berthd answers Unimplemented for ${missing.join(', ')} (not built yet)`);
      return;
    }
    const result = await runKubeletFlow(bd.socket, {
      image: world.images.workloadImage,
      cgroupParent: bd.cgroupParent.path,
      logDirectory: join(world.logs, 'flow'),
      tag,
      subnet: bd.cni.subnet,
    });
    assert.equal(result.runtimeName, 'berth');
    assert.deepEqual(bd.helperPids(), [], 'no monitor is left once the pod is removed');
  } finally {
    await bd.stop();
  }
  assert.deepEqual(peerLeftovers(bd), []);
});
