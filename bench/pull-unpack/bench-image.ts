// The pull + unpack benchmark's image: 8 gzip layers, 30,000 small files and 16 larger ones
// (~200 MB unpacked), generated deterministically from fixed seeds and cached as an OCI image
// layout, so that a second run of the benchmark reuses it instead of rebuilding it (~20 s).
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, writeOciLayout, type Entry } from '../../test/fixtures/image/test-image.ts';

/** Bump when the shape or the generator changes: the cache directory is named after it. */
const GENERATOR_VERSION = 1;
export const DEFAULT_CACHE_ROOT = '/var/tmp/berth-bench-cache';

const SHAPE = {
  layers: 8,
  dirsPerLayer: 150,
  filesPerDir: 25, // 8 × 150 × 25 = 30,000 small files, plus one symlink per directory
  smallMin: 128,
  smallMax: 16384, // log-uniform between these: ~3.3 kB on average
  // Per layer: one incompressible file (like a compressed archive or stripped binary) and one
  // compressible text file, in MiB.
  largeMiB: [8, 4, 12, 2, 6, 8, 4, 6],
};
const MTIME = 1700000000;

export interface ImageStats {
  regularFiles: number;
  symlinks: number;
  /** Bytes in regular files. */
  fileBytes: number;
  /** Bytes of the gzip layers. */
  compressedBytes: number;
}

export interface BenchImage {
  /** An OCI image layout directory holding the image under `tag`. */
  layoutDir: string;
  tag: string;
  manifestDigest: string;
  config: { digest: string; size: number };
  layers: Array<{ digest: string; size: number; mediaType: string }>;
  stats: ImageStats;
}

/** A deterministic byte stream: AES-256-CTR keystream under a key derived from `seed`. */
class Keystream {
  private readonly cipher;
  constructor(seed: string) {
    const key = createHash('sha256').update(`berth-bench:${seed}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }
  bytes(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }
}

/** Text from a fixed vocabulary: compresses about as well as source code or documentation. */
class TextSource {
  private readonly words: string[];
  constructor(private readonly ks: Keystream) {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz_';
    const raw = ks.bytes(1024 * 12);
    this.words = Array.from({ length: 1024 }, (_, w) => {
      const len = 2 + (raw[w * 12]! % 10);
      let s = '';
      for (let i = 1; i <= len; i++) s += alphabet[raw[w * 12 + i]! % alphabet.length];
      return s;
    });
  }
  text(size: number): Buffer {
    const picks = this.ks.bytes(Math.ceil(size / 3) * 2 + 16);
    const parts: string[] = [];
    let len = 0;
    for (let i = 0; len < size; i += 2) {
      const v = picks[i % picks.length]! | (picks[(i + 1) % picks.length]! << 8);
      const word = this.words[v & 1023]!;
      const sep = (v >> 10) % 12 === 0 ? '\n' : ' ';
      parts.push(word, sep);
      len += word.length + 1;
    }
    return Buffer.from(parts.join('').slice(0, size), 'latin1');
  }
}

function layerEntries(l: number): Entry[] {
  const ks = new Keystream(`layer-${l}`);
  const text = new TextSource(ks);
  const base = `opt/bench/l${l}`;
  const entries: Entry[] = [
    { name: 'opt/', type: 'dir', mtime: MTIME },
    { name: 'opt/bench/', type: 'dir', mtime: MTIME },
    { name: `${base}/`, type: 'dir', mtime: MTIME },
  ];
  const sizes = ks.bytes(SHAPE.dirsPerLayer * SHAPE.filesPerDir * 2);
  const ratio = Math.log(SHAPE.smallMax / SHAPE.smallMin);
  let f = 0;
  for (let d = 0; d < SHAPE.dirsPerLayer; d++) {
    const pkg = `${base}/p${Math.floor(d / 10)}`;
    if (d % 10 === 0) entries.push({ name: `${pkg}/`, type: 'dir', mtime: MTIME });
    const dir = `${pkg}/m${d % 10}`;
    entries.push({ name: `${dir}/`, type: 'dir', mtime: MTIME });
    for (let i = 0; i < SHAPE.filesPerDir; i++, f++) {
      const u = sizes.readUInt16LE(f * 2) / 65536;
      const size = Math.round(SHAPE.smallMin * Math.exp(u * ratio));
      entries.push({ name: `${dir}/f${i}.txt`, type: 'file', mode: 0o644, mtime: MTIME, data: text.text(size) });
    }
    entries.push({ name: `${dir}/current`, type: 'symlink', linkname: 'f0.txt', mtime: MTIME });
  }
  const mib = SHAPE.largeMiB[l]! * 1024 * 1024;
  entries.push({ name: `${base}/blob.bin`, type: 'file', mode: 0o755, mtime: MTIME, data: ks.bytes(mib) });
  entries.push({ name: `${base}/data.txt`, type: 'file', mode: 0o644, mtime: MTIME, data: text.text(mib) });
  return entries;
}

function cacheDir(cacheRoot: string): string {
  return join(cacheRoot, `pull-unpack-v${GENERATOR_VERSION}`);
}

function loadCached(dir: string): BenchImage | undefined {
  const metaPath = join(dir, 'image.json');
  if (!existsSync(metaPath)) return undefined;
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as BenchImage;
  for (const b of [meta.config, ...meta.layers]) {
    const path = join(meta.layoutDir, 'blobs', 'sha256', b.digest.slice(7));
    if (!existsSync(path) || statSync(path).size !== b.size) return undefined;
  }
  return meta;
}

/** Returns the cached image, generating it first if the cache lacks it (or holds a damaged copy). */
export function ensureBenchImage(cacheRoot: string, log: (line: string) => void): BenchImage {
  const dir = cacheDir(cacheRoot);
  const cached = loadCached(dir);
  if (cached) return cached;
  log(`generating the benchmark image into ${dir} (once; later runs reuse it)`);
  mkdirSync(cacheRoot, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const t0 = performance.now();
  const layers = Array.from({ length: SHAPE.layers }, (_, l) => layerEntries(l));
  const img = buildImage({ layers, cmd: ['/bin/sh'] });
  const finalLayout = join(dir, 'layout');
  writeOciLayout(img, join(tmp, 'layout'), 'bench');
  const all = layers.flat();
  const stats: ImageStats = {
    regularFiles: all.filter((e) => e.type === 'file').length,
    symlinks: all.filter((e) => e.type === 'symlink').length,
    fileBytes: all.reduce((n, e) => n + (e.type === 'file' && e.data ? Buffer.byteLength(e.data) : 0), 0),
    compressedBytes: img.layers.reduce((n, l) => n + l.blob.length, 0),
  };
  const meta: BenchImage = {
    layoutDir: finalLayout,
    tag: 'bench',
    manifestDigest: img.manifestDigest,
    config: { digest: img.manifest.config.digest, size: img.manifest.config.size },
    layers: img.manifest.layers.map((d) => ({ digest: d.digest, size: d.size, mediaType: d.mediaType })),
    stats,
  };
  writeFileSync(join(tmp, 'image.json'), `${JSON.stringify(meta, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return meta;
}
