// Memory of a CRI daemon with running pods: the PSS (smaps_rollup) of the daemon plus every per-pod
// or per-container helper it keeps (containerd: its runc v2 shims; berthd: its monitors), idle and
// with N running pods of one /bin/pause container each; the growth per pod is the difference over
// N. Pods' own processes (pause, the container) are not counted: they are the same programs for
// both peers. Each peer is measured on its own (the other idle), PSS read after --settle-ms.
// Usage: node --import tsx bench/cri/cri-memory.bench.ts [--pods 10] [--settle-ms 3000] [--json FILE]
import { writeFileSync } from 'node:fs';
import { pssKb } from '../../test/support/proc-scan.ts';
import { formatTable, ratio } from '../lib/stats.mjs';
import { describe, flag, removePod, runPod, startPeers, stringFlag, type CriPeer } from './cri-peers.ts';

const args = process.argv.slice(2);
const pods = flag(args, '--pods', 10);
const settleMs = flag(args, '--settle-ms', 3000);
const json = stringFlag(args, '--json');

interface Reading {
  daemonKb: number;
  helpersKb: number;
  helpers: number;
}

function read(peer: CriPeer): Reading {
  const helpers = peer.helperPids();
  return { daemonKb: pssKb(peer.pid), helpersKb: helpers.reduce((s, pid) => s + pssKb(pid), 0), helpers: helpers.length };
}

const settle = () => new Promise((r) => setTimeout(r, settleMs));
const mib = (kb: number) => (kb / 1024).toFixed(1);

const p = await startPeers(`m${process.pid.toString(36)}`.slice(0, 6));
const results: Record<string, { idle: Reading; loaded: Reading }> = {};
try {
  console.log(`CRI memory: PSS idle and with ${pods} running pods (one container each), settle ${settleMs} ms\n${await describe(p)}\n`);
  for (const peer of p.ready) {
    await settle();
    const idle = read(peer);
    const ids = [];
    for (let i = 0; i < pods; i++) ids.push(await runPod(p, peer, `mem${i}`, 'bench', true));
    await settle();
    const loaded = read(peer);
    results[peer.name] = { idle, loaded };
    for (const { podId } of ids) await removePod(peer, podId);
  }
  const total = (r: Reading) => r.daemonKb + r.helpersKb;
  const growth = (name: string) => (results[name] ? (total(results[name].loaded) - total(results[name].idle)) / pods : NaN);
  const rows = p.peers.map((peer) => {
    const r = results[peer.name];
    if (!r) return [peer.name, '—', '—', '—', '—', '—', '—'];
    return [peer.name, mib(total(r.idle)), mib(r.loaded.daemonKb), `${mib(r.loaded.helpersKb)} (${r.loaded.helpers})`, mib(total(r.loaded)), mib(growth(peer.name)), mib(r.loaded.daemonKb - r.idle.daemonKb)];
  });
  console.log(formatTable(['MiB PSS', 'idle total', `daemon, ${pods} pods`, 'helpers (count)', `total, ${pods} pods`, 'growth per pod', 'daemon growth'], rows));
  const b = results.berthd;
  const c = results.containerd;
  if (b && c) console.log(`\nratios berthd / containerd: total ${ratio(total(b.loaded), total(c.loaded))} (target ≤ 0.7×), growth per pod ${ratio(growth('berthd'), growth('containerd'))} (target ≤ 0.1×)`);
  for (const peer of p.peers.filter((x) => x.unavailable)) console.log(`\n${peer.name}: ${peer.unavailable}`);
  if (json) writeFileSync(json, JSON.stringify(results, null, 2));
} finally {
  await p.stop();
}
