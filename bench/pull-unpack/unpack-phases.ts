// Where berth's unpack spends its time, without the network: the cached benchmark image's layers
// go through berth's own pipeline stage by stage, each stage adding one step to the previous:
//   read     the blob from disk (the page cache, after the first pass)
//   gunzip   + decompress (src/image/decompress.ts)
//   tar      + parse the tar stream, every entry and its data (src/image/tar-parser.ts, no-op sink)
//   unpack   + write the files: unpackLayer (src/image/unpack-layer.ts) into a fresh directory
// Layers run one after another (pull runs up to 3 at once).
// Usage: node --import tsx bench/pull-unpack/unpack-phases.ts [--stages read,gunzip,tar,unpack] [--dir DIR]
//        [--layers 0,2,4,6]   (a subset, e.g. to run two processes side by side: what two cores could do)
// DIR (default: a new directory under /var/tmp) is left in place: delete it later, not right
// before another benchmark (see bench/README.md).
import { createReadStream, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decompress } from '../../src/image/decompress.ts';
import { TarParser } from '../../src/image/tar-parser.ts';
import { unpackLayer } from '../../src/image/unpack-layer.ts';
import type { Digest } from '../../src/oci/digest.ts';
import { DEFAULT_CACHE_ROOT, ensureBenchImage } from './bench-image.ts';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const stages = (flag('--stages') ?? 'read,gunzip,tar,unpack').split(',');
const image = ensureBenchImage(DEFAULT_CACHE_ROOT, (l) => process.stderr.write(`${l}\n`));
const blobPath = (digest: string): string => join(image.layoutDir, 'blobs', 'sha256', digest.slice(7));

const only = flag('--layers')?.split(',').map(Number);
const layerIndexes = only ?? image.layers.map((_, i) => i);

async function timeLayers(fn: (path: string, i: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  for (const i of layerIndexes) await fn(blobPath(image.layers[i]!.digest), i);
  return performance.now() - t0;
}

const out = flag('--dir') ?? (stages.includes('unpack') ? mkdtempSync('/var/tmp/berth-unpack-phases-') : '');
const diffIds = (JSON.parse(readFileSync(blobPath(image.config.digest), 'utf8')) as { rootfs: { diff_ids: Digest[] } }).rootfs.diff_ids;

const run: Record<string, (path: string, i: number) => Promise<void>> = {
  read: async (path) => {
    for await (const _ of createReadStream(path)) void _;
  },
  gunzip: async (path) => {
    for await (const _ of decompress(createReadStream(path), 'gzip')) void _;
  },
  tar: async (path) => {
    const parser = new TarParser({ entry: () => undefined, data: () => undefined, end: () => undefined });
    for await (const chunk of decompress(createReadStream(path), 'gzip')) if (!parser.done) parser.push(chunk);
    parser.end();
  },
  unpack: async (path, i) => {
    const dir = join(out, `layer${i}`);
    mkdirSync(dir, { recursive: true });
    await unpackLayer(createReadStream(path), { dir, compression: 'gzip', diffId: diffIds[i]!, what: `layer ${i}` });
  },
};

for (const s of stages) {
  if (!run[s]) throw new Error(`unknown stage "${s}"`);
  const cpu0 = process.cpuUsage();
  const ms = await timeLayers(run[s]!);
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${s.padEnd(7)} ${(ms / 1000).toFixed(2)} s wall, ${(cpu.user / 1e6).toFixed(2)} s user, ${(cpu.system / 1e6).toFixed(2)} s sys\n`);
}
if (stages.includes('unpack')) process.stdout.write(`unpacked into ${out} (left in place)\n`);
