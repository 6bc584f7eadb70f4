// berthd as a CRI peer, set up like the containerd fixture (test/support/containerd.ts) so that
// the same flow and benchmarks drive both: its own temporary root, state and socket, a CniBridge
// as its CNI conf dir, the images through registries.conf, a cgroup parent for its pods.
// `stop()` removes every pod through the CRI, stops berthd, kills what is left (its monitors, by
// their argv naming berthd's directory; the pods' processes, by cgroup), unmounts what is left
// below its directory and removes the bridge, the leases and the directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmountBelow } from '../../src/runtime/unmount-below.ts';
import { startBerthd, type RunningBerthd } from './berthd.ts';
import { makeCgroupParent } from './cgroup-parent.ts';
import { makeCniBridge } from './cni-bridge.ts';
import { GrpcStatus, type CriClient } from './cri-client.ts';
import type { CriPeerFixture } from './cri-peer.ts';
import type { CriRegistry } from './cri-registry.ts';
import { killPids, pidsNaming } from './proc-scan.ts';

export interface BerthdCri extends CriPeerFixture {
  daemon: RunningBerthd;
}

/** Which of `rpcs` (RuntimeService methods) answer Unimplemented (probed with empty requests). */
export async function unimplementedRpcs(client: CriClient, rpcs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const rpc of rpcs) {
    const code = await client.runtime(rpc, {}).then(
      () => GrpcStatus.OK,
      (err: { code: number }) => err.code,
    );
    if (code === GrpcStatus.UNIMPLEMENTED) out.push(rpc);
  }
  return out;
}

/** Whether the peer implements pods (berthd answered Unimplemented before its pod RPCs landed). */
export async function podsImplemented(client: CriClient): Promise<boolean> {
  return (await unimplementedRpcs(client, ['ListPodSandbox'])).length === 0;
}

export async function startBerthdCri(opts: { images: CriRegistry; tag: string; logLevel?: string }): Promise<BerthdCri> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-berthd-'));
  // The bridge's conflist lands in <dir>/net.d, which is the conf dir startBerthd configures.
  const cni = makeCniBridge(dir, opts.tag);
  const cgroupParent = makeCgroupParent(`bd-${opts.tag}`);
  let daemon: RunningBerthd | undefined;
  const cleanup = async () => {
    if (daemon && daemon.child.exitCode === null && (await podsImplemented(daemon.client).catch(() => false))) {
      try {
        const { items } = await daemon.client.call<{ items: Array<{ id: string }> }>('RuntimeService', 'ListPodSandbox', {}, 10_000);
        for (const { id } of items) {
          await daemon.client.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: id }, 30_000).catch(() => undefined);
          await daemon.client.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: id }, 30_000).catch(() => undefined);
        }
      } catch {
        // berthd does not answer: what it left is removed below
      }
    }
    await daemon?.stop();
    killPids(pidsNaming(dir));
    await cgroupParent.cleanup();
    await unmountBelow(dir).catch(() => undefined);
    cni.cleanup();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    daemon = await startBerthd({
      dir,
      registriesConf: opts.images.registriesConf,
      logLevel: opts.logLevel ?? 'info',
      toml: 'bin_dirs = ["/usr/lib/cni"]\n[streaming]\naddress = "127.0.0.1"\nport = 0\n',
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  const d = daemon;
  let stopped = false;
  return {
    pid: d.child.pid!,
    socket: d.socket,
    dir,
    client: d.client,
    cni,
    cgroupParent,
    daemon: d,
    // Its monitors: processes whose argv names berthd's directory (pid file, log, exit file).
    helperPids: () => pidsNaming(dir, [d.child.pid!]),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await cleanup();
    },
  };
}
