// Creating a background container through the container service (what `berth run -d` and
// berthd do), three ways in the same run, interleaved:
//   berth (plan)   the monitor (berth-spawn --monitor --plan-fd) runs berth's plan itself: no
//                  program but the monitor starts
//   berth-runtime  the monitor runs `bin/berth-runtime create`, a Node CLI, as it would runc
//   runc           the monitor runs `runc create`
// Each sample is ContainerService.create() from the call to the created container (monitor up,
// init waiting for start); remove is not timed. Also the monitor's RSS and PSS once created.
// Usage: node --import tsx bench/monitor-create/monitor-create.bench.ts [--iterations N] [--json FILE]
// Needs root, runc, busybox-static and a built berth (npm run build).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerService } from '../../src/containers/index.ts';
import { imageConfigToSpec } from '../../src/image/runtime-config.ts';
import { imageContainerBaseSpec } from '../../src/runtime/default-spec.ts';
import { repoRoot } from '../../test/support/cli.ts';
import { formatTable, ms, ratio, summarize } from '../lib/stats.mjs';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const ITERATIONS = Number(opt('iterations', '20'));
const WARMUP = 2;
const JSON_OUT = opt('json', '');

const variants = [
  { name: 'berth (plan)', runtime: undefined },
  { name: 'berth-runtime', runtime: join(repoRoot, 'bin/berth-runtime') },
  { name: 'runc', runtime: 'runc' },
] as const;

function procKiB(pid: number, file: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-monitor-'));
const root = join(dir, 'store');
delete process.env.NODE_EXTRA_CA_CERTS;
try {
  execFileSync(join(repoRoot, 'scripts/make-busybox-rootfs.sh'), [join(dir, 'busybox.tar.gz')]);
  execFileSync(join(repoRoot, 'bin/berth'), ['--root', root, 'import', join(dir, 'busybox.tar.gz'), 'busybox:bench'], { env: process.env });
  const service = ContainerService.open({ root });
  const samples = new Map<string, { ms: number[]; rssKiB: number[]; pssKiB: number[] }>(variants.map((v) => [v.name, { ms: [], rssKiB: [], pssKiB: [] }]));
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    for (const v of variants) {
      const t0 = process.hrtime.bigint();
      const { record } = await service.create({
        image: 'busybox:bench',
        ...(v.runtime ? { runtime: v.runtime } : {}),
        logPath: null,
        spec: (prepared, { id }) =>
          imageConfigToSpec(prepared.imageConfig, { cmd: ['sleep', '1000'], hostname: id.slice(0, 12) }, { base: imageContainerBaseSpec(), resolvedUser: prepared.user }),
      });
      const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i >= WARMUP) {
        const s = samples.get(v.name)!;
        s.ms.push(elapsed);
        s.rssKiB.push(procKiB(record.monitor!.pid, 'status', 'VmRSS'));
        s.pssKiB.push(procKiB(record.monitor!.pid, 'smaps_rollup', 'Pss'));
      }
      await service.remove(record.id, { force: true });
    }
  }
  service.close();
  const summary = Object.fromEntries([...samples].map(([name, s]) => [name, { ...summarize(s.ms), rssKiB: summarize(s.rssKiB).median, pssKiB: summarize(s.pssKiB).median }]));
  const runc = summary.runc!;
  process.stdout.write(`create under a monitor, ${ITERATIONS} iterations (ms; NODE_EXTRA_CA_CERTS unset)\n`);
  process.stdout.write(
    `${formatTable(
      ['variant', 'median', 'p90', 'vs runc', 'monitor RSS', 'monitor PSS'],
      Object.entries(summary).map(([name, s]) => [name, ms(s.median), ms(s.p90), ratio(s.median, runc.median), `${(s.rssKiB / 1024).toFixed(2)} MiB`, `${(s.pssKiB / 1024).toFixed(2)} MiB`]),
    )}\n`,
  );
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), samples: Object.fromEntries(samples), summary }, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
