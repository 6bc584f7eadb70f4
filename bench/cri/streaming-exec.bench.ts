// The CRI streaming path end to end, berthd's streaming server against containerd's, same client:
//   exec … true   Exec RPC → URL → SPDY/3.1 upgrade (v4.channel.k8s.io) → error, stdout and stderr
//                 streams → the v4 status on the error stream, timed from the RPC to the last FIN
//   port-forward  PortForward RPC → URL → SPDY (portforward.k8s.io) → error + data streams to port
//                 8080 in the pod, where busybox nc serves --pf-mib MiB of /dev/zero per
//                 connection: throughput from the RPC to the last byte
// A peer whose RPC answers Unimplemented is reported as "not available (Unimplemented)".
// Usage: node --import tsx bench/cri/streaming-exec.bench.ts [--iterations 30] [--warmup 3] [--pf-rounds 3] [--pf-mib 1024] [--json FILE]
import { writeFileSync } from 'node:fs';
import { GrpcStatus } from '../../test/support/cri-client.ts';
import { formatTable, ms, ratio, summarize } from '../lib/stats.mjs';
import { describe, flag, hrMs, sandboxConfig, startPeers, stringFlag, type CriPeer, type Peers } from './cri-peers.ts';
import { SpdyBenchClient } from './spdy-bench-client.ts';

const args = process.argv.slice(2);
const iterations = flag(args, '--iterations', 30);
const warmup = flag(args, '--warmup', 3);
const pfRounds = flag(args, '--pf-rounds', 3);
const pfMib = flag(args, '--pf-mib', 1024);
const json = stringFlag(args, '--json');
const PORT = 8080;

interface Target {
  peer: CriPeer;
  podId: string;
  containerId: string;
}

async function startTarget(p: Peers, peer: CriPeer): Promise<Target> {
  const config = sandboxConfig(p, peer, 'stream', 'bench');
  const { pod_sandbox_id: podId } = await peer.client.runtime('RunPodSandbox', { config });
  const server = `nc -ll -p ${PORT} -e /bin/dd if=/dev/zero bs=1048576 count=${pfMib} & exec /bin/pause`;
  const { container_id: containerId } = await peer.client.runtime('CreateContainer', {
    pod_sandbox_id: podId,
    config: { metadata: { name: 'server', attempt: 0 }, image: { image: p.images.workloadImage }, command: ['/bin/sh', '-c', server], log_path: 'server/0.log' },
    sandbox_config: config,
  });
  await peer.client.runtime('StartContainer', { container_id: containerId });
  return { peer, podId, containerId };
}

/** Why the peer's streaming RPC cannot be used, or undefined when it can. */
async function streamingUnavailable(t: Target): Promise<string | undefined> {
  return t.peer.client.runtime('Exec', { container_id: t.containerId, cmd: ['true'], stdout: true }).then(
    () => undefined,
    (e: { code: number; details: string }) => (e.code === GrpcStatus.UNIMPLEMENTED ? 'not available (Unimplemented)' : `Exec failed: ${e.details}`),
  );
}

async function execTrue(t: Target): Promise<number> {
  const start = process.hrtime.bigint();
  const { url } = await t.peer.client.runtime('Exec', { container_id: t.containerId, cmd: ['true'], stdout: true, stderr: true });
  const c = await SpdyBenchClient.connect(url, ['v4.channel.k8s.io']);
  try {
    const error = await c.open({ streamtype: 'error' });
    const stdout = await c.open({ streamtype: 'stdout' });
    const stderr = await c.open({ streamtype: 'stderr' });
    // containerd's server writes the status, then resets the error stream (CANCEL) as it closes.
    await c.until(() => stdout.fin && stderr.fin && (error.fin || error.reset !== undefined));
    const took = hrMs(start);
    const status = error.text();
    if (!/"status":"Success"/.test(status) && !(status === '' && error.fin)) throw new Error(`${t.peer.name}: exec true ended with ${JSON.stringify(status)} (error stream ${error.fin ? 'finished' : error.reset !== undefined ? `reset ${error.reset}` : 'cut'})`);
    return took;
  } finally {
    c.close();
  }
}

async function portForward(t: Target): Promise<number> {
  const want = pfMib * 1024 * 1024;
  const start = process.hrtime.bigint();
  const { url } = await t.peer.client.runtime('PortForward', { pod_sandbox_id: t.podId, port: [PORT] });
  const c = await SpdyBenchClient.connect(url, ['portforward.k8s.io']);
  try {
    const error = await c.open({ streamtype: 'error', port: String(PORT), requestid: '0' });
    const data = await c.open({ streamtype: 'data', port: String(PORT), requestid: '0' }, false);
    await c.until(() => data.bytes >= want || data.fin || data.reset !== undefined);
    const seconds = hrMs(start) / 1000;
    if (data.bytes < want) throw new Error(`${t.peer.name}: port-forward moved ${data.bytes} of ${want} bytes (${error.text() || 'no error text'})`);
    return want / 1024 / 1024 / seconds;
  } finally {
    c.close();
  }
}

const p = await startPeers(`x${process.pid.toString(36)}`.slice(0, 6));
const targets: Target[] = [];
const unavailable = new Map<string, string>(p.peers.filter((x) => x.unavailable).map((x) => [x.name, x.unavailable!]));
try {
  console.log(`CRI streaming: exec true ${warmup} warm-up + ${iterations} measured, interleaved; port-forward ${pfRounds} × ${pfMib} MiB\n${await describe(p)}\n`);
  for (const peer of p.ready) {
    const t = await startTarget(p, peer);
    const why = await streamingUnavailable(t);
    if (why) unavailable.set(peer.name, why);
    else targets.push(t);
  }
  const execs = new Map<string, number[]>(targets.map((t) => [t.peer.name, []]));
  for (let i = 0; i < warmup + iterations; i++) {
    for (const t of i % 2 ? [...targets].reverse() : targets) {
      const took = await execTrue(t);
      if (i >= warmup) execs.get(t.peer.name)!.push(took);
    }
  }
  const rates = new Map<string, number[]>(targets.map((t) => [t.peer.name, []]));
  for (let i = 0; i < pfRounds; i++) for (const t of i % 2 ? [...targets].reverse() : targets) rates.get(t.peer.name)!.push(await portForward(t));
  const e = (n: string) => summarize(execs.get(n) ?? []);
  const r = (n: string) => summarize(rates.get(n) ?? []);
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');
  console.log(formatTable(['', 'berthd median', 'berthd p90 / min', 'containerd median', 'containerd p90 / min', 'ratio (median)'], [
    ['exec … true (ms)', ms(e('berthd').median), ms(e('berthd').p90), ms(e('containerd').median), ms(e('containerd').p90), ratio(e('berthd').median, e('containerd').median)],
    [`port-forward ${pfMib} MiB (MiB/s)`, fmt(r('berthd').median), fmt(r('berthd').min), fmt(r('containerd').median), fmt(r('containerd').min), ratio(r('berthd').median, r('containerd').median)],
  ]));
  for (const [name, why] of unavailable) console.log(`\n${name}: ${why}`);
  console.log('\ntargets: exec ≤ 1.0× containerd; port-forward throughput ≥ 0.8× containerd');
  if (json) writeFileSync(json, JSON.stringify({ exec: Object.fromEntries(execs), portForwardMiBps: Object.fromEntries(rates) }, null, 2));
} finally {
  for (const t of targets) await t.peer.client.runtime('StopPodSandbox', { pod_sandbox_id: t.podId }).catch(() => undefined);
  await p.stop();
}
