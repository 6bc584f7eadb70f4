// A pod's whole life through the CRI, the kubelet's calls one after the other: RunPodSandbox,
// CreateContainer, StartContainer, StopContainer, RemoveContainer, StopPodSandbox,
// RemovePodSandbox, timed per call and in total, berthd against containerd (runc v2 shim) with the
// same grpc-js client, interleaved (the order alternates each iteration). The container runs
// /bin/pause, which exits at SIGTERM, so StopContainer measures the runtime, not a grace period.
// Usage: node --import tsx bench/cri/cri-lifecycle.bench.ts [--iterations N] [--warmup N] [--json FILE]
import { writeFileSync } from 'node:fs';
import { formatTable, ms, ratio, summarize } from '../lib/stats.mjs';
import { describe, flag, hrMs, sandboxConfig, startPeers, stringFlag, type CriPeer, type Peers } from './cri-peers.ts';
import { flowContainerConfig } from '../../test/support/kubelet-flow.ts';

const args = process.argv.slice(2);
const iterations = flag(args, '--iterations', 20);
const warmup = flag(args, '--warmup', 2);
const json = stringFlag(args, '--json');
const STEPS = ['runp', 'create', 'start', 'stop', 'rm', 'stopp', 'rmp'] as const;
type Step = (typeof STEPS)[number];

async function lifecycle(p: Peers, peer: CriPeer, i: number): Promise<Record<Step | 'total', number>> {
  const c = peer.client;
  const config = sandboxConfig(p, peer, `lc${i}`, 'bench');
  const t: Partial<Record<Step | 'total', number>> = {};
  const timed = async <T>(step: Step, call: () => Promise<T>): Promise<T> => {
    const start = process.hrtime.bigint();
    const out = await call();
    t[step] = hrMs(start);
    return out;
  };
  const { pod_sandbox_id: podId } = await timed('runp', () => c.runtime('RunPodSandbox', { config }));
  const { container_id: id } = await timed('create', () => c.runtime('CreateContainer', { pod_sandbox_id: podId, config: flowContainerConfig(p.images.workloadImage), sandbox_config: config }));
  await timed('start', () => c.runtime('StartContainer', { container_id: id }));
  await timed('stop', () => c.runtime('StopContainer', { container_id: id, timeout: 10 }));
  await timed('rm', () => c.runtime('RemoveContainer', { container_id: id }));
  await timed('stopp', () => c.runtime('StopPodSandbox', { pod_sandbox_id: podId }));
  await timed('rmp', () => c.runtime('RemovePodSandbox', { pod_sandbox_id: podId }));
  t.total = STEPS.reduce((sum, s) => sum + t[s]!, 0);
  return t as Record<Step | 'total', number>;
}

const p = await startPeers(`l${process.pid.toString(36)}`.slice(0, 6));
try {
  console.log(`CRI lifecycle: ${warmup} warm-up + ${iterations} measured iterations, interleaved\n${await describe(p)}\n`);
  const samples = new Map<string, Record<string, number[]>>(p.ready.map((peer) => [peer.name, Object.fromEntries([...STEPS, 'total'].map((s) => [s, [] as number[]]))]));
  for (let i = 0; i < warmup + iterations; i++) {
    const order = i % 2 ? [...p.ready].reverse() : p.ready;
    for (const peer of order) {
      const t = await lifecycle(p, peer, i);
      if (i >= warmup) for (const [k, v] of Object.entries(t)) samples.get(peer.name)![k]!.push(v);
    }
  }
  const stats = (name: string, step: string) => summarize(samples.get(name)?.[step] ?? []);
  const rows = [...STEPS, 'total'].map((step) => {
    const b = stats('berthd', step);
    const c = stats('containerd', step);
    return [step, ms(b.median), ms(b.p90), ms(c.median), ms(c.p90), ratio(b.median, c.median)];
  });
  console.log(formatTable(['step (ms)', 'berthd median', 'berthd p90', 'containerd median', 'containerd p90', 'ratio (median)'], rows));
  for (const peer of p.peers.filter((x) => x.unavailable)) console.log(`\n${peer.name}: ${peer.unavailable}`);
  console.log('\ntarget: berthd total ≤ 0.5× containerd');
  if (json) writeFileSync(json, JSON.stringify(Object.fromEntries(samples), null, 2));
} finally {
  await p.stop();
}
