import { hrMs, sandboxConfig, startPeers } from './cri-peers.ts';
import { SpdyBenchClient } from './spdy-bench-client.ts';
const p = await startPeers(`y${process.pid.toString(36)}`.slice(0, 6));
try {
  for (const peer of p.ready) {
    const config = sandboxConfig(p, peer, 'probe', 'bench');
    const { pod_sandbox_id: podId } = await peer.client.runtime('RunPodSandbox', { config });
    const { container_id: id } = await peer.client.runtime('CreateContainer', { pod_sandbox_id: podId,
      config: { metadata: { name: 's', attempt: 0 }, image: { image: p.images.workloadImage }, command: ['/bin/pause'], log_path: 's/0.log' }, sandbox_config: config });
    await peer.client.runtime('StartContainer', { container_id: id });
    const rows: number[][] = [];
    for (let i = 0; i < 23; i++) {
      const t0 = process.hrtime.bigint();
      const { url } = await peer.client.runtime('Exec', { container_id: id, cmd: ['true'], stdout: true, stderr: true });
      const t1 = hrMs(t0);
      const c = await SpdyBenchClient.connect(url, ['v4.channel.k8s.io']);
      const t2 = hrMs(t0);
      const error = await c.open({ streamtype: 'error' });
      const stdout = await c.open({ streamtype: 'stdout' });
      const stderr = await c.open({ streamtype: 'stderr' });
      const t3 = hrMs(t0);
      await c.until(() => stdout.fin && stderr.fin);
      const t4 = hrMs(t0);
      await c.until(() => error.fin || error.reset !== undefined);
      const t5 = hrMs(t0);
      c.close();
      if (i >= 3) rows.push([t1, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5]);
    }
    const med = (k: number) => { const v = rows.map((r) => r[k]!).sort((a, b) => a - b); return v[v.length >> 1]!.toFixed(1); };
    console.log(peer.name, 'rpc', med(0), 'upgrade', med(1), 'opens', med(2), 'to-fin', med(3), 'status', med(4), 'total', med(5));
    await peer.client.runtime('StopPodSandbox', { pod_sandbox_id: podId });
  }
} finally { await p.stop(); }
