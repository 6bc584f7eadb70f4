// What the CRI benchmarks share: one local registry, containerd and berthd started side by side
// (test/support fixtures: own roots, sockets, CNI bridges, cgroup parents, removed at the end, also
// on Ctrl-C), berthd's pod RPCs probed (it answered Unimplemented before they landed), pods made
// the kubelet's way, and flags. Node children run without NODE_EXTRA_CA_CERTS (README).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBerthdCri, podsImplemented } from '../../test/support/berthd-cri.ts';
import { startContainerdCri } from '../../test/support/containerd.ts';
import type { CriPeerFixture } from '../../test/support/cri-peer.ts';
import { startCriRegistry, type CriRegistry } from '../../test/support/cri-registry.ts';
import { flowContainerConfig, flowSandboxConfig } from '../../test/support/kubelet-flow.ts';

delete process.env.NODE_EXTRA_CA_CERTS;

export type PeerName = 'berthd' | 'containerd';

export interface CriPeer extends CriPeerFixture {
  name: PeerName;
  /** Why this peer cannot run the benchmark (berthd before its pod RPCs), if it cannot. */
  unavailable?: string;
}

export interface Peers {
  images: CriRegistry;
  /** The pods' log_directory root (removed by stop). */
  logDir: string;
  peers: CriPeer[];
  /** Peers that can run pods. */
  ready: CriPeer[];
  stop(): Promise<void>;
}

export function flag(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} wants a number, got ${args[i + 1]}`);
  return v;
}

export function stringFlag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Starts the registry and both peers; stops everything on SIGINT/SIGTERM or when stop() is called. */
export async function startPeers(tag: string): Promise<Peers> {
  const images = await startCriRegistry();
  const logDir = mkdtempSync(join(tmpdir(), 'berth-bench-cri-logs-'));
  const peers: CriPeer[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    for (const p of peers) await p.stop().catch((e) => console.error(`stopping ${p.name}: ${e}`));
    await images.stop();
    rmSync(logDir, { recursive: true, force: true });
  })());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stop().then(() => process.exit(130)));
  try {
    const cd = await startContainerdCri({ images, tag: `c${tag}` });
    peers.push({ ...cd, name: 'containerd' });
    const bd = await startBerthdCri({ images, tag: `b${tag}` });
    const implemented = await podsImplemented(bd.client);
    peers.push({ ...bd, name: 'berthd', ...(implemented ? {} : { unavailable: 'not available (Unimplemented: berthd does not run pods yet)' }) });
    for (const p of peers.filter((x) => !x.unavailable)) await p.client.image('PullImage', { image: { image: images.workloadImage } });
  } catch (err) {
    await stop();
    throw err;
  }
  return { images, logDir, peers, ready: peers.filter((p) => !p.unavailable), stop };
}

export interface PodIds {
  podId: string;
  containerId?: string;
}

export function sandboxConfig(p: Peers, peer: CriPeer, name: string, tag: string) {
  return flowSandboxConfig({ cgroupParent: peer.cgroupParent.path, logDirectory: join(p.logDir, peer.name, name), tag }, name);
}

/** RunPodSandbox, then (with `container`) CreateContainer + StartContainer of /bin/pause. */
export async function runPod(p: Peers, peer: CriPeer, name: string, tag: string, container: boolean): Promise<PodIds> {
  const config = sandboxConfig(p, peer, name, tag);
  const { pod_sandbox_id: podId } = await peer.client.runtime('RunPodSandbox', { config });
  if (!container) return { podId };
  const { container_id: containerId } = await peer.client.runtime('CreateContainer', { pod_sandbox_id: podId, config: flowContainerConfig(p.images.workloadImage), sandbox_config: config });
  await peer.client.runtime('StartContainer', { container_id: containerId });
  return { podId, containerId };
}

export async function removePod(peer: CriPeer, podId: string): Promise<void> {
  await peer.client.runtime('StopPodSandbox', { pod_sandbox_id: podId });
  await peer.client.runtime('RemovePodSandbox', { pod_sandbox_id: podId });
}

export function hrMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The header every CRI benchmark prints: machine, versions, what was not measured. */
export async function describe(p: Peers): Promise<string> {
  const lines: string[] = [];
  for (const peer of p.peers) {
    const v = await peer.client.runtime('Version', {});
    lines.push(`${peer.name}: ${v.runtime_name} ${v.runtime_version} (pid ${peer.pid})${peer.unavailable ? ` — ${peer.unavailable}` : ''}`);
  }
  return lines.join('\n');
}
