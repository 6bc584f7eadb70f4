import { hrMs, sandboxConfig, startPeers } from './cri-peers.ts';
const p = await startPeers(`z${process.pid.toString(36)}`.slice(0, 6));
try {
  for (const peer of p.ready) {
    const config = sandboxConfig(p, peer, 'probe', 'bench');
    const { pod_sandbox_id: podId } = await peer.client.runtime('RunPodSandbox', { config });
    const { container_id: id } = await peer.client.runtime('CreateContainer', { pod_sandbox_id: podId,
      config: { metadata: { name: 's', attempt: 0 }, image: { image: p.images.workloadImage }, command: ['/bin/pause'], log_path: 's/0.log' }, sandbox_config: config });
    await peer.client.runtime('StartContainer', { container_id: id });
    const m: Record<string, number[]> = { Version: [], ContainerStatus: [], Exec: [], PortForward: [] };
    for (let i = 0; i < 23; i++) {
      for (const [rpc, req] of [['Version', {}], ['ContainerStatus', { container_id: id }], ['Exec', { container_id: id, cmd: ['true'], stdout: true }], ['PortForward', { pod_sandbox_id: podId, port: [80] }]] as const) {
        const t0 = process.hrtime.bigint();
        await peer.client.runtime(rpc, req);
        if (i >= 3) m[rpc]!.push(hrMs(t0));
      }
    }
    const med = (v: number[]) => { v.sort((a, b) => a - b); return v[v.length >> 1]!.toFixed(2); };
    console.log(peer.name, Object.entries(m).map(([k, v]) => `${k} ${med(v)}`).join('  '));
    await peer.client.runtime('StopPodSandbox', { pod_sandbox_id: podId });
  }
} finally { await p.stop(); }
