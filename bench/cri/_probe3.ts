import { hrMs, startPeers } from './cri-peers.ts';
const p = await startPeers(`w${process.pid.toString(36)}`.slice(0, 6));
try {
  for (const peer of p.ready) {
    const v: number[] = [];
    for (let i = 0; i < 400; i++) { const t0 = process.hrtime.bigint(); await peer.client.runtime('Version', {}); v.push(hrMs(t0)); }
    v.sort((a, b) => a - b);
    console.log(peer.name, 'Version median', v[200]!.toFixed(2), 'min', v[0]!.toFixed(2));
  }
} finally { await p.stop(); }
