// ListPodSandbox and ListContainers (no filter, as the kubelet's relist sends them) with many pods
// present: each peer gets --pods pods, each with one running /bin/pause container (or none with
// --no-containers), made --parallel at a time; then every call is timed --calls times, the peers
// alternating. Creation and removal are not timed.
// Usage: node --import tsx bench/cri/cri-list.bench.ts [--pods 200] [--calls 50] [--parallel 4] [--no-containers] [--json FILE]
import { writeFileSync } from 'node:fs';
import { formatTable, ms, ratio, summarize } from '../lib/stats.mjs';
import { describe, flag, hrMs, removePod, runPod, startPeers, stringFlag, type CriPeer, type PodIds } from './cri-peers.ts';

const args = process.argv.slice(2);
const pods = flag(args, '--pods', 200);
const calls = flag(args, '--calls', 50);
const parallel = Math.max(1, flag(args, '--parallel', 4));
const containers = !args.includes('--no-containers');
const json = stringFlag(args, '--json');

/** Runs `work(i)` for i in [0, n), `width` at a time; resolves with the results in order. */
async function pool<T>(n: number, width: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await work(i);
    }
  }));
  return out;
}

const p = await startPeers(`s${process.pid.toString(36)}`.slice(0, 6));
const made = new Map<CriPeer, PodIds[]>();
try {
  console.log(`CRI list: ${pods} pods${containers ? ', one running container each' : ' without containers'}; ${calls} calls of each RPC per peer\n${await describe(p)}\n`);
  for (const peer of p.ready) {
    const start = process.hrtime.bigint();
    made.set(peer, await pool(pods, parallel, (i) => runPod(p, peer, `list${i}`, 'bench', containers)));
    console.log(`${peer.name}: ${pods} pods made in ${(hrMs(start) / 1000).toFixed(1)} s`);
  }
  const samples: Record<string, Record<string, number[]>> = {};
  for (const peer of p.ready) samples[peer.name] = { ListPodSandbox: [], ListContainers: [] };
  for (let i = 0; i < calls; i++) {
    for (const peer of i % 2 ? [...p.ready].reverse() : p.ready) {
      for (const [rpc, field] of [['ListPodSandbox', 'items'], ['ListContainers', 'containers']] as const) {
        const start = process.hrtime.bigint();
        const res = await peer.client.runtime(rpc, {});
        samples[peer.name]![rpc]!.push(hrMs(start));
        const want = rpc === 'ListPodSandbox' || containers ? pods : 0;
        if (res[field].length !== want) throw new Error(`${peer.name} ${rpc} listed ${res[field].length}, expected ${want}`);
      }
    }
  }
  const rows = ['ListPodSandbox', 'ListContainers'].map((rpc) => {
    const b = summarize(samples.berthd?.[rpc] ?? []);
    const c = summarize(samples.containerd?.[rpc] ?? []);
    return [rpc, ms(b.median), ms(b.p90), ms(c.median), ms(c.p90), ratio(b.median, c.median)];
  });
  console.log(`\n${formatTable(['ms', 'berthd median', 'berthd p90', 'containerd median', 'containerd p90', 'ratio (median)'], rows)}`);
  for (const peer of p.peers.filter((x) => x.unavailable)) console.log(`\n${peer.name}: ${peer.unavailable}`);
  console.log('\ntarget: berthd ≤ 5 ms each');
  if (json) writeFileSync(json, JSON.stringify(samples, null, 2));
} finally {
  for (const [peer, ids] of made) await pool(ids.length, parallel, (i) => removePod(peer, ids[i]!.podId).catch(() => undefined));
  await p.stop();
}
