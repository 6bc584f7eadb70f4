// A pod's loopback interface: up, so that its containers reach each other on 127.0.0.1, as
// containerd brings it up with the CNI loopback plugin next to the pod's network. A new network
// namespace has `lo` down. The ADD is cached like any attachment, so StopPodSandbox's DEL and the
// start-up clean-up of orphans find it.
import { parseConfList } from '../../network/conflist.ts';
import { LOOPBACK_CONF_LIST } from '../../network/bridge-network.ts';
import type { CriContext } from './cri-context.ts';

const POD_LOOPBACK = parseConfList(JSON.stringify(LOOPBACK_CONF_LIST), 'berthd pod loopback');
const LO = 'lo';

export async function loopbackUp(ctx: CriContext, podId: string, netnsPath: string): Promise<void> {
  await ctx.cri.cni.attach(POD_LOOPBACK, { containerId: podId, netnsPath, ifname: LO });
}

export async function loopbackDown(ctx: CriContext, podId: string, netnsPath?: string): Promise<void> {
  await ctx.cri.cni.detach(POD_LOOPBACK, { containerId: podId, ifname: LO, ...(netnsPath ? { netnsPath } : {}) });
}
