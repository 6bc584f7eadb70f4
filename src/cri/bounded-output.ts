// ExecSync's output buffer: keeps at most `cap` bytes of a stream and counts the rest, so that a
// command writing without end cannot exhaust berthd's memory (containerd CVE-2022-31030, cri-o
// CVE-2022-1708). The writer is never blocked: what is over the cap is read and dropped.
export const EXEC_SYNC_OUTPUT_CAP = 16 * 1024 * 1024;

export class BoundedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes read beyond the cap and dropped. */
  dropped = 0;

  constructor(readonly cap: number = EXEC_SYNC_OUTPUT_CAP) {}

  push(chunk: Buffer): void {
    const room = this.cap - this.kept;
    if (room >= chunk.length) {
      this.chunks.push(chunk);
      this.kept += chunk.length;
      return;
    }
    if (room > 0) {
      this.chunks.push(chunk.subarray(0, room));
      this.kept += room;
    }
    this.dropped += chunk.length - Math.max(room, 0);
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}
