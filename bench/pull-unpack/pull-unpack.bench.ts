// Pull + unpack from a cold store: berth against containerd (`ctr images pull`, which unpacks into
// its overlayfs snapshotter), skopeo copy + umoci unpack, and a curl + tar floor, all pulling the
// same ~200 MB image from one local docker-registry, in the same run, interleaved per round.
// Usage: node --import tsx bench/pull-unpack/pull-unpack.bench.ts [--rounds N] [--warmup N]
//        [--only berth,containerd,...] [--berth FILE] [--compare FILE] [--cache DIR] [--keep] [--json FILE]
// Needs root, docker-registry, containerd, skopeo, umoci, curl and a built berth. See bench/README.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry, skopeoCopy, type TestRegistry } from '../../test/fixtures/image/registry.ts';
import { stats, timedSpawn } from './bench-lib.ts';
import { DEFAULT_CACHE_ROOT, ensureBenchImage, type BenchImage } from './bench-image.ts';
import type { ContainerdDaemon } from './containerd-daemon.ts';
import { unmountAllUnder } from './mount-cleanup.ts';
import { census, sameCensus } from './tree-census.ts';
import { createFilesProbe } from './fs-probe.ts';
import { ALL_VARIANTS, berthCompare, type Variant, type VariantContext } from './variants.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WORK_PARENT = '/var/tmp';

const USAGE = `usage: node --import tsx bench/pull-unpack/pull-unpack.bench.ts [options]
  --rounds N     measured rounds; every variant runs once per round (default 5)
  --warmup N     unmeasured rounds first (default 1)
  --only LIST    comma-separated subset of: ${ALL_VARIANTS.map((v) => v.key).join(', ')}
  --berth FILE   the berth CLI to measure (default bin/berth), e.g. a wrapper around another build
  --compare FILE also measure this berth CLI (another build, e.g. before a change) in every round
  --cache DIR    where the generated image is cached (default ${DEFAULT_CACHE_ROOT})
  --keep         leave the work directory (every round's output) in place and print its path
  --json FILE    also write every sample to FILE`;

interface Options {
  rounds: number;
  warmup: number;
  only: Variant[];
  berth: string;
  compare?: string;
  cache: string;
  keep: boolean;
  json?: string;
}

function fail(message: string): never {
  process.stderr.write(`pull-unpack: ${message}\n`);
  process.exit(2);
}

function parseFlags(argv: string[]): Options {
  const o: Options = { rounds: 5, warmup: 1, only: [...ALL_VARIANTS], berth: join(REPO, 'bin/berth'), cache: DEFAULT_CACHE_ROOT, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string => inline ?? argv[++i] ?? fail(`${name} needs a value\n${USAGE}`);
    const count = (min: number): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) fail(`${name}: "${v}" is not an integer >= ${min}`);
      return n;
    };
    if (name === '--rounds') o.rounds = count(1);
    else if (name === '--warmup') o.warmup = count(0);
    else if (name === '--berth') o.berth = resolve(value());
    else if (name === '--compare') o.compare = resolve(value());
    else if (name === '--cache') o.cache = resolve(value());
    else if (name === '--json') o.json = resolve(value());
    else if (name === '--keep') o.keep = true;
    else if (name === '--only') {
      const keys = value().split(',');
      o.only = keys.map((k) => ALL_VARIANTS.find((v) => v.key === k) ?? fail(`--only: unknown variant "${k}"`));
    } else if (name === '--help' || name === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else fail(`unknown flag "${argv[i]}"\n${USAGE}`);
  }
  if (o.compare) o.only.splice(1, 0, berthCompare(o.compare));
  return o;
}

function firstLine(file: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(file, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.trim() || '?';
}

/** berth has no --version: the package version, the commit and when dist/ was built. */
function berthVersion(berthCli: string): string {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const commit = spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() || '?';
  const bundle = join(REPO, 'dist/berth.mjs');
  const built = existsSync(bundle) ? statSync(bundle).mtime.toISOString() : '?';
  return berthCli === join(REPO, 'bin/berth') ? `${pkg.version} at ${commit}, dist/ built ${built}` : `${berthCli} (tree at ${commit})`;
}

function machineDescription(env: NodeJS.ProcessEnv, berthCli: string): Record<string, string> {
  const osRelease = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? 'unknown OS';
  const fsType = execFileSync('findmnt', ['-n', '-o', 'FSTYPE,OPTIONS', '-T', WORK_PARENT], { encoding: 'utf8' }).trim().replace(/\s+/, ' ');
  return {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    os: osRelease,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    filesystem: `${WORK_PARENT} on ${fsType}`,
    node: firstLine('node', ['--version'], env),
    berth: berthVersion(berthCli),
    containerd: firstLine('containerd', ['--version'], env),
    skopeo: firstLine('skopeo', ['--version'], env),
    umoci: firstLine('umoci', ['--version'], env),
    curl: firstLine('curl', ['--version'], env).split(' ').slice(0, 2).join(' '),
    tar: firstLine('tar', ['--version'], env),
    registry: firstLine('docker-registry', ['--version'], env),
  };
}

const opts = parseFlags(process.argv.slice(2));
if (process.getuid?.() !== 0) fail('needs root (containerd, umoci and tar set ownership; overlay snapshots)');
for (const tool of ['docker-registry', 'containerd', 'ctr', 'skopeo', 'umoci', 'curl', 'tar', 'gzip', 'sync']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) fail(`${tool} is not installed (see bench/README.md)`);
}
const env = timedSpawn.cleanEnv();
for (const cli of [opts.berth, ...(opts.compare ? [opts.compare] : [])]) {
  if (!existsSync(cli) || spawnSync(cli, ['--help'], { stdio: 'ignore', env }).status !== 0) {
    fail(`\`${cli} --help\` does not work${cli === join(REPO, 'bin/berth') ? ': run `npm run build` first' : ''}`);
  }
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => (interrupted = true));
const log = (line: string): void => void process.stderr.write(`pull-unpack: ${line}\n`);

const image: BenchImage = ensureBenchImage(opts.cache, log);
const work = mkdtempSync(join(WORK_PARENT, 'berth-bench-pull-'));
const runner = new timedSpawn.CommandRunner(join(work, 'stderr.log'), env);
const liveDaemons = new Set<ContainerdDaemon>();
let registry: TestRegistry | undefined;
const samples = new Map<string, number[]>();
const failures: string[] = [];
const add = (key: string, v: number): void => void (samples.get(key) ?? samples.set(key, []).get(key)!).push(v);

async function cleanup(): Promise<void> {
  for (const d of liveDaemons) await d.stop().catch(() => undefined);
  await registry?.stop().catch(() => undefined);
  const stuck = unmountAllUnder(work);
  if (stuck.length) log(`could not unmount: ${stuck.join(', ')}`);
  runner.close();
  if (opts.keep) log(`kept every round's output in ${work} (remove it when done)`);
  else rmSync(work, { recursive: true, force: true });
}

let machine: Record<string, string> = {};
const probes: { start?: number; end?: number; cachedStart?: number; cachedEnd?: number } = {};
/** The page cache's size in GB (from /proc/meminfo). */
const pageCacheGB = (): number => Number(readFileSync('/proc/meminfo', 'utf8').match(/^Cached:\s+(\d+) kB/m)?.[1] ?? NaN) / 1e6;
let started = new Date();
try {
  machine = machineDescription(env, opts.berth);
  registry = await startRegistry();
  const repository = `${registry.host}/bench/image`;
  log(`pushing the image to ${registry.url}`);
  skopeoCopy(`oci:${image.layoutDir}:${image.tag}`, `docker://${repository}:${image.tag}`, ['--preserve-digests']);
  const ctx: VariantContext = { runner, env, image, registryUrl: registry.url, repository, tag: image.tag, berth: opts.berth, liveDaemons };
  const expected = { regularFiles: image.stats.regularFiles, fileBytes: image.stats.fileBytes, symlinks: image.stats.symlinks };
  const variants = opts.only;
  probes.start = createFilesProbe(join(work, 'probe-start'));
  probes.cachedStart = pageCacheGB();
  started = new Date();
  const total = opts.warmup + opts.rounds;
  for (let r = 0; r < total; r++) {
    const record = r >= opts.warmup;
    const round = `r${r}`;
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(r + k) % variants.length]!;
      if (interrupted) throw new Error('interrupted');
      // Every round writes into fresh directories, and nothing is deleted before the end: right
      // after a large tree is removed, creating files near it is much slower on this machine.
      const dir = join(work, round, v.key);
      mkdirSync(dirname(dir), { recursive: true });
      // Write back the previous variant's dirty pages now, not during this one's timed run.
      execFileSync('sync');
      try {
        const res = await v.run(ctx, dir, round);
        const got = census(res.outputs);
        if (!sameCensus(got, expected)) {
          throw new Error(`incomplete output: ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
        }
        log(`${record ? round : `${round} (warm-up)`} ${v.key}: ${(res.ms / 1000).toFixed(2)} s`);
        if (record) {
          add(v.key, res.ms);
          for (const [part, ms] of Object.entries(res.parts ?? {})) add(`${v.key}.${part}`, ms);
        }
      } catch (err) {
        if (interrupted || (err as { signal?: string }).signal === 'SIGINT') throw err;
        const message = (err as Error).message;
        failures.push(`${round} ${v.key}: ${message}`);
        log(`${round} ${v.key} FAILED: ${message}`);
        if (failures.filter((f) => f.includes(` ${v.key}: `)).length > Math.max(1, total / 2)) throw new Error(`${v.key} fails more often than not; stopping`);
      }
    }
  }
  probes.end = createFilesProbe(join(work, 'probe-end'));
  probes.cachedEnd = pageCacheGB();
} catch (err) {
  await cleanup();
  fail(interrupted ? 'interrupted; cleaned up' : (err as Error).message);
}
await cleanup();
report();

function report(): void {
  const s = (k: string) => stats.summarize(samples.get(k) ?? []);
  const sec = (x: number): string => (Number.isFinite(x) ? (x / 1000).toFixed(2) : '—');
  const out: string[] = [];
  out.push(`# pull-unpack — ${started.toISOString()}`);
  out.push(`machine: ${machine.cpus}, ${machine.memory}; ${machine.os}; kernel ${machine.kernel}; ${machine.filesystem}`);
  out.push(`tools: node ${machine.node}; berth ${machine.berth}; ${machine.containerd}; ${machine.skopeo}; ${machine.umoci}; ${machine.curl}; ${machine.tar}; ${machine.registry}`);
  const st = image.stats;
  out.push(
    `image: ${image.layers.length} gzip layers, ${(st.compressedBytes / 1e6).toFixed(1)} MB compressed, ${(st.fileBytes / 1e6).toFixed(1)} MB in ${st.regularFiles} regular files and ${st.symlinks} symlinks (${image.manifestDigest.slice(0, 19)})`,
  );
  out.push(`rounds: ${opts.rounds} measured after ${opts.warmup} warm-up; variants interleaved in rotating order; \`sync\` before each timed run; no output deleted until the end`);
  out.push(
    `file-creation probe (5,000 files of 2 kB): ${probes.start?.toFixed(0)} ms before the rounds, ${probes.end?.toFixed(0)} ms after (several times more than usual means a large tree was deleted on this file system minutes ago: wait and run again)`,
  );
  out.push(
    `page cache: ${probes.cachedStart?.toFixed(1)} GB before the rounds, ${probes.cachedEnd?.toFixed(1)} GB after (every round adds ~1.4 GB; see bench/RESULTS.md on what happens past a few GB here)`,
  );
  out.push('every output was checked to hold all regular files, their bytes and the symlinks; commands ran without NODE_EXTRA_CA_CERTS');
  out.push('');
  const rows: string[][] = [];
  for (const v of opts.only) {
    const a = s(v.key);
    rows.push([v.label, sec(a.median), sec(a.min), sec(a.max), (samples.get(v.key) ?? []).map(sec).join(' ')]);
    for (const part of ['skopeo', 'umoci']) {
      const key = `${v.key}.${part}`;
      if (!samples.has(key)) continue;
      const p = s(key);
      rows.push([`  of which ${part}`, sec(p.median), sec(p.min), sec(p.max), samples.get(key)!.map(sec).join(' ')]);
    }
  }
  out.push(stats.formatTable(['variant', 'median s', 'min s', 'max s', 'samples s'], rows));
  out.push('');
  const b = s('berth').median;
  out.push(`berth / containerd: ${stats.ratio(b, s('containerd').median)} (target ≤ 0.6×)`);
  out.push(`berth / floor:      ${stats.ratio(b, s('curl-tar').median)} (target ≤ 1.5×)`);
  out.push(`berth / skopeo+umoci: ${stats.ratio(b, s('skopeo-umoci').median)}`);
  if (opts.compare) out.push(`berth / --compare build: ${stats.ratio(b, s('berth-compare').median)}`);
  if (failures.length) {
    out.push('');
    out.push('FAILURES (excluded from the figures above):');
    for (const f of failures) out.push(`  ${f.split('\n').join(' / ')}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (opts.json) {
    const results = Object.fromEntries([...samples].map(([k, v]) => [k, { ...stats.summarize(v), samples: v }]));
    writeFileSync(opts.json, `${JSON.stringify({ date: started.toISOString(), machine, image, probes, options: { ...opts, only: opts.only.map((v) => v.key) }, results, failures }, null, 2)}\n`);
  }
}
