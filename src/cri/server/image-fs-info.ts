// ImageFsInfo: the filesystem holding the image snapshots (the kubelet's image GC and eviction
// thresholds read it): bytes and inodes used under the snapshots dir, which is also what is
// reported as the mountpoint (containerd reports its snapshotter root the same way; cAdvisor
// finds the device from that path).
import type { CriContext } from './cri-context.ts';
import type { UnaryRpc } from './rpc.ts';

export function imageFsInfo(ctx: CriContext): UnaryRpc {
  return async () => {
    const usage = await ctx.usage.total();
    const timestamp = (BigInt(Date.now()) * 1_000_000n).toString();
    return {
      image_filesystems: [
        {
          timestamp,
          fs_id: { mountpoint: ctx.usage.dir },
          used_bytes: { value: String(usage.bytes) },
          inodes_used: { value: String(usage.inodes) },
        },
      ],
      container_filesystems: [],
    };
  };
}
