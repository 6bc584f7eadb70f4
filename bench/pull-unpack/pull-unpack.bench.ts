// Pull + unpack: berth against containerd (`ctr images pull`, which also unpacks into its overlay
// snapshotter) from the same local registry, same image, same run. Prints times and the ratio.
// Run: node --import tsx bench/pull-unpack/pull-unpack.bench.ts   (root; docker-registry, skopeo, containerd)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, skopeoCopy } from '../../test/fixtures/image/registry.ts';
import { buildImage, testLayers, writeOciLayout, type Entry } from '../../test/fixtures/image/test-image.ts';
import { ImageStore } from '../../src/image/image-store.ts';
import { pullImage } from '../../src/image/pull.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const work = mkdtempSync(join(tmpdir(), 'berth-bench-'));
const registry = await startRegistry();
let containerd: ReturnType<typeof spawn> | undefined;
try {
  // busybox plus 4 layers of 2000 small files and one 32 MiB incompressible file.
  const layers: Entry[][] = [testLayers()[0]!];
  for (let l = 0; l < 4; l++) layers.push(Array.from({ length: 2000 }, (_, i): Entry => ({ name: `l${l}/d${i % 50}/f${i}`, type: 'file', data: randomBytes(512).toString('hex') })));
  layers.push([{ name: 'big.bin', type: 'file', data: randomBytes(32 << 20) }]);
  const img = buildImage({ layers });
  writeOciLayout(img, join(work, 'layout'), 'bench');
  const ref = `${registry.host}/bench/image:bench`;
  skopeoCopy(`oci:${join(work, 'layout')}:bench`, `docker://${ref}`, ['--preserve-digests']);

  const sock = join(work, 'containerd.sock');
  const config = join(work, 'containerd.toml');
  execFileSync('sh', ['-c', `printf 'version = 2\\n[grpc]\\naddress = "${sock}"\\n[plugins."io.containerd.grpc.v1.cri"]\\ndisable = true\\n' > ${config}`]);
  containerd = spawn('containerd', ['--config', config, '--root', join(work, 'ctrd-root'), '--state', join(work, 'ctrd-state')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('ctr', ['-a', sock, 'version'], { stdio: 'ignore' });
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const berthTimes: number[] = [];
  const ctrTimes: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const root = join(work, `berth-${r}`);
    const store = ImageStore.open(root);
    let t = performance.now();
    await pullImage(store, ref);
    berthTimes.push(performance.now() - t);
    store.close();
    rmSync(root, { recursive: true, force: true });
    const ns = `bench${r}`;
    t = performance.now();
    execFileSync('ctr', ['-a', sock, '-n', ns, 'images', 'pull', '--plain-http', '--snapshotter', 'overlayfs', ref], { stdio: 'ignore' });
    ctrTimes.push(performance.now() - t);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const b = median(berthTimes);
  const c = median(ctrTimes);
  console.log(`image: ${img.layers.length} layers, ${(img.layers.reduce((a, l) => a + l.blob.length, 0) / 1e6).toFixed(1)} MB compressed`);
  console.log(`berth pull+unpack   median ${b.toFixed(0)} ms  (${berthTimes.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`ctr images pull     median ${c.toFixed(0)} ms  (${ctrTimes.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`ratio berth/containerd: ${(b / c).toFixed(2)}`);
} finally {
  if (containerd?.pid) {
    containerd.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
  }
  await registry.stop();
  try {
    execFileSync('sh', ['-c', `grep ' ${work}' /proc/mounts | cut -d' ' -f2 | xargs -r -n1 umount -l`]);
  } catch {
    // nothing mounted
  }
  rmSync(work, { recursive: true, force: true });
}
