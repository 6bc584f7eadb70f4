// What the containerd and berthd fixtures have in common, so that a flow, a benchmark or a
// leftover check can take either.
import type { CgroupParent } from './cgroup-parent.ts';
import type { CniBridge } from './cni-bridge.ts';
import type { CriClient } from './cri-client.ts';

export interface CriPeerFixture {
  /** The daemon's pid. */
  pid: number;
  socket: string;
  /** The fixture's private directory (root, state, socket, CNI conf, config). */
  dir: string;
  client: CriClient;
  cni: CniBridge;
  /** Give it to pods as `linux.cgroup_parent`: stop() kills and removes what is below it. */
  cgroupParent: CgroupParent;
  /** The daemon's per-pod and per-container helpers (containerd's shims, berthd's monitors). */
  helperPids(): number[];
  /** Removes every pod, stops the daemon and removes all it left. Idempotent. */
  stop(): Promise<void>;
}
