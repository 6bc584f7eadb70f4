// A CNI network of its own for one CRI peer under test: a conflist (bridge + host-local +
// loopback) with a unique bridge name, network name and /24 subnet, host-local's leases in a
// directory of its own, no IP masquerade and no portmap, so that the plugins add no iptables
// rule. `cleanup()` removes the bridge, the leases and the peers' result-cache entries.
import { freeSubnet, removeLink } from '../integration/network/host-network.ts';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CniBridge {
  /** Holds the one conflist; give it to the peer as its CNI conf dir. */
  confDir: string;
  network: string;
  bridge: string;
  subnet: string;
  /** Removes the bridge, host-local's leases and cached results of this network. Idempotent. */
  cleanup(): void;
}

/** libcni's default cache directory (containerd's go-cni does not change it). */
const LIBCNI_CACHE = '/var/lib/cni';

/** `tag`: a short unique word (letters and digits, ≤ 8 characters) naming the bridge and the network. */
export function makeCniBridge(dir: string, tag: string): CniBridge {
  if (!/^[a-z0-9]{1,8}$/.test(tag)) throw new Error(`CNI bridge tag ${JSON.stringify(tag)}: 1-8 lowercase letters or digits`);
  const confDir = join(dir, 'net.d');
  const leases = join(dir, 'cni-leases');
  mkdirSync(confDir, { recursive: true });
  const network = `berth-${tag}`;
  const bridge = `bt-${tag}`;
  const { subnet } = freeSubnet();
  const conflist = {
    cniVersion: '1.0.0',
    name: network,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: false,
        ipam: { type: 'host-local', dataDir: leases, ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
    ],
  };
  writeFileSync(join(confDir, `10-${network}.conflist`), `${JSON.stringify(conflist, null, 2)}\n`);
  return {
    confDir,
    network,
    bridge,
    subnet,
    cleanup: () => {
      removeLink(bridge);
      rmSync(leases, { recursive: true, force: true });
      const results = join(LIBCNI_CACHE, 'results');
      let names: string[] = [];
      try {
        names = readdirSync(results);
      } catch {
        return;
      }
      for (const n of names) if (n.startsWith(`${network}-`)) rmSync(join(results, n), { force: true });
    },
  };
}
