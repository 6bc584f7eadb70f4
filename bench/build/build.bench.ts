// berth build against buildah bud (vfs, --layers) in the same run: the Dockerfile of 8
// steps (3 RUN, a COPY of a 5,000-file context, a second stage copying from the first) over the
// busybox test image, pulled beforehand from a local registry into each tool's store.
//   cold:     an empty build cache (a new store with only the base image)
//   one file: the same store after one source file changed (cached up to the COPY)
//   cached:   unchanged again (every step from the cache)
// Usage: node --import tsx bench/build/build.bench.ts [--rounds 3] [--json FILE]
// Needs root, buildah, runc, skopeo, docker-registry and a built berth (npm run build).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, writeOciLayout } from '../../test/fixtures/image/test-image.ts';
import { skopeoCopy, startRegistry } from '../../test/fixtures/image/registry.ts';
import { repoRoot } from '../../test/support/cli.ts';

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const ROUNDS = Number(opt('rounds', '3'));
const JSON_OUT = opt('json', '');
const FILES = 5000;

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

function timed(file: string, argv: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, argv, { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  const t1 = process.hrtime.bigint();
  if (r.status !== 0) throw new Error(`${file} ${argv.join(' ')}: exit ${r.status}\n${r.stderr?.toString().slice(-3000)}`);
  return Number(t1 - t0) / 1e9;
}

function dockerfile(base: string): string {
  return `FROM ${base} AS build
WORKDIR /src
RUN echo prepared > /prepared && mkdir -p /out
COPY src/ /src/
RUN find /src -type f | wc -l > /out/count && cat /src/d0/f0 > /out/first
RUN tar -cf /out/src.tar -C /src .
FROM ${base}
COPY --from=build /out /app
ENV APP=/app
CMD ["cat", "/app/count"]
`;
}

function writeContext(dir: string, base: string): void {
  rmSync(dir, { recursive: true, force: true });
  for (let d = 0; d < 50; d++) {
    mkdirSync(join(dir, 'src', `d${d}`), { recursive: true });
    for (let f = 0; f < FILES / 50; f++) writeFileSync(join(dir, 'src', `d${d}`, `f${f}`), `file ${d}/${f}\n${'x'.repeat(1000)}\n`);
  }
  writeFileSync(join(dir, 'Dockerfile'), dockerfile(base));
}

interface Tool {
  name: string;
  /** A fresh store holding only the base image. */
  reset(): void;
  build(ctx: string, tag: string): number;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-build-'));
  const registry = await startRegistry();
  try {
    writeOciLayout(buildImage(), join(work, 'layout'), 'v1');
    skopeoCopy(`oci:${join(work, 'layout')}:v1`, `docker://${registry.host}/bench/busybox:v1`, ['--preserve-digests']);
    const base = `${registry.host}/bench/busybox:v1`;
    const ctx = join(work, 'ctx');
    const berthBin = join(repoRoot, 'bin/berth');
    let n = 0;
    let berthRoot = '';
    let buildahRoot = '';
    const buildahArgs = (): string[] => ['--root', join(buildahRoot, 'root'), '--runroot', join(buildahRoot, 'runroot'), '--storage-driver', 'vfs'];
    const tools: Tool[] = [
      {
        name: 'berth',
        reset() {
          if (berthRoot) rmSync(berthRoot, { recursive: true, force: true });
          berthRoot = join(work, `berth-${n++}`);
          timed(berthBin, ['--root', berthRoot, 'pull', '-q', base]);
        },
        build: (c, tag) => timed(berthBin, ['--root', berthRoot, 'build', '-t', tag, c]),
      },
      {
        name: 'buildah',
        reset() {
          if (buildahRoot) {
            spawnSync('buildah', [...buildahArgs(), 'rm', '--all'], { stdio: 'ignore' });
            rmSync(buildahRoot, { recursive: true, force: true });
          }
          buildahRoot = join(work, `buildah-${n++}`);
          timed('buildah', [...buildahArgs(), 'pull', '-q', '--tls-verify=false', base]);
        },
        build: (c, tag) => timed('buildah', [...buildahArgs(), 'bud', '--layers', '--network', 'none', '--runtime', 'runc', '--tls-verify=false', '-q', '-t', tag, c]),
      },
    ];
    const samples: Record<string, Record<string, number[]>> = {};
    for (const t of tools) samples[t.name] = { cold: [], oneFile: [], cached: [] };
    for (let round = 0; round <= ROUNDS; round++) {
      for (const t of tools) {
        writeContext(ctx, base);
        t.reset();
        const cold = t.build(ctx, 'localhost/bench/app:1');
        writeFileSync(join(ctx, 'src', 'd7', 'f7'), `changed in round ${round}\n`);
        const oneFile = t.build(ctx, 'localhost/bench/app:1');
        const cached = t.build(ctx, 'localhost/bench/app:1');
        const label = round === 0 ? 'warm-up' : `round ${round}`;
        console.log(`${label} ${t.name.padEnd(8)} cold ${cold.toFixed(2)} s  one file ${oneFile.toFixed(2)} s  cached ${cached.toFixed(2)} s`);
        if (round > 0) {
          samples[t.name]!.cold!.push(cold);
          samples[t.name]!.oneFile!.push(oneFile);
          samples[t.name]!.cached!.push(cached);
        }
      }
    }
    const m = (tool: string, k: string): number => median(samples[tool]![k]!);
    console.log('\n| scenario | berth median s | buildah median s | ratio |\n|---|---:|---:|---:|');
    for (const k of ['cold', 'oneFile', 'cached']) console.log(`| ${k} | ${m('berth', k).toFixed(2)} | ${m('buildah', k).toFixed(2)} | ${ratio(m('berth', k), m('buildah', k))} |`);
    if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(samples, null, 2));
    spawnSync('buildah', [...buildahArgs(), 'rm', '--all'], { stdio: 'ignore' });
  } finally {
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
