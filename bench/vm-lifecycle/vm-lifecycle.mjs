#!/usr/bin/env node
// berth-vm against runc on the same busybox bundle, in the same run, interleaved:
//   first output = from spawning `create` to the first byte the container writes (create, then
//                  start as soon as create returns; the container's first act is to print)
//   idle PSS     = host memory of one idle container: the sum of Pss (smaps_rollup) over every
//                  host process of it (berth-vm: monitor, QEMU, virtiofsd; runc: the container's
//                  init, runc itself having exited), a few seconds after it started, and
//                  per process (by its comm) with QEMU's split into anonymous, guest RAM
//                  (shmem: the memfd) and file pages
// Usage: node bench/vm-lifecycle/vm-lifecycle.mjs [--iterations N] [--settle-ms N] [--compare <other berth-vm>]
// --compare runs another berth-vm build (say, an older commit's bin/berth-vm) in the same rounds.
// Needs root, runc, QEMU and a built berth-vm (npm run build). The accelerator is berth-vm's own
// choice (BERTH_VM_ACCEL or the cached probe): it is printed.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BERTH_VM = join(REPO, 'bin/berth-vm');
const RUNC = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p));

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const iterations = flag('--iterations', 5);
const settleMs = flag('--settle-ms', 5000);
const compare = args.includes('--compare') ? resolve(args[args.indexOf('--compare') + 1]) : undefined;

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

function pss(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function rollup(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), pss: kb('Pss'), anon: kb('Pss_Anon'), shmem: kb('Pss_Shmem'), file: kb('Pss_File') };
  } catch {
    return undefined;
  }
}

function descendants(pid) {
  const children = new Map();
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(p));
    } catch {
      // gone
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** create + start; resolves with the ms from spawning create to the container's first byte. */
function firstOutput(bin, root, bundle, id) {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const create = spawn(bin, ['--root', root, 'create', '--bundle', bundle, id], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let first;
    create.stdout.once('data', () => {
      first = Number(process.hrtime.bigint() - t0) / 1e6;
      res(first);
    });
    create.once('exit', (code) => {
      if (code !== 0) return rej(new Error(`${bin} create exited ${code}`));
      const start = spawn(bin, ['--root', root, 'start', id], { env, stdio: 'inherit' });
      start.once('exit', (c) => c !== 0 && rej(new Error(`${bin} start exited ${c}`)));
    });
  });
}

function state(bin, root, id) {
  return JSON.parse(execFileSync(bin, ['--root', root, 'state', id], { env, encoding: 'utf8' }));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median PSS per process kind over the samples (MiB), QEMU's split by kind of page. */
function perProcess(runs) {
  const kinds = new Map();
  for (const procs of runs) {
    const byComm = new Map();
    for (const p of procs) {
      const k = p.comm.startsWith('qemu') ? 'qemu' : p.comm;
      const acc = byComm.get(k) ?? { pss: 0, anon: 0, shmem: 0, file: 0 };
      for (const f of ['pss', 'anon', 'shmem', 'file']) acc[f] += p[f];
      byComm.set(k, acc);
    }
    for (const [k, v] of byComm) kinds.set(k, [...(kinds.get(k) ?? []), v]);
  }
  const mib = (kb) => (kb / 1024).toFixed(1);
  return [...kinds].map(([k, vs]) => {
    const m = (f) => median(vs.map((v) => v[f]));
    return `  berth-vm ${k}: ${mib(m('pss'))} MiB (anon ${mib(m('anon'))}, guest RAM/shmem ${mib(m('shmem'))}, file ${mib(m('file'))})`;
  });
}

async function main() {
  if (!RUNC) throw new Error('runc is not installed');
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-vm-'));
  const bundle = join(work, 'bundle');
  execFileSync(join(REPO, 'scripts/make-busybox-bundle.sh'), [bundle, 'sh', '-c', 'echo up; exec sleep 1000'], { env });
  const roots = { 'berth-vm': join(work, 'vm-root'), runc: join(work, 'runc-root'), ...(compare ? { compare: join(work, 'compare-root') } : {}) };
  const bins = { 'berth-vm': BERTH_VM, runc: RUNC, ...(compare ? { compare } : {}) };
  const samples = Object.fromEntries(Object.keys(bins).map((k) => [k, { first: [], pss: [], procs: [] }]));
  try {
    for (let i = 0; i < iterations; i++) {
      for (const name of Object.keys(bins)) {
        const id = `bench-${i}`;
        samples[name].first.push(await firstOutput(bins[name], roots[name], bundle, id));
        await new Promise((r) => setTimeout(r, settleMs));
        const pid = state(bins[name], roots[name], id).pid;
        const pids = descendants(pid);
        samples[name].pss.push(pids.reduce((sum, p) => sum + pss(p), 0) / 1024);
        samples[name].procs.push(pids.map(rollup).filter(Boolean));
        execFileSync(bins[name], ['--root', roots[name], 'delete', '--force', id], { env });
      }
    }
  } finally {
    for (const [name, root] of Object.entries(roots)) {
      for (const id of existsSync(root) ? readdirSync(root) : []) {
        try {
          execFileSync(bins[name], ['--root', root, 'delete', '--force', id], { env, stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
  let accel = 'unknown';
  try {
    accel = JSON.parse(readFileSync(join(REPO, 'native/build/berth-vm/accel.json'), 'utf8')).accel;
  } catch {
    // no probe cached
  }
  if (env.BERTH_VM_ACCEL) accel = env.BERTH_VM_ACCEL;
  const vm = samples['berth-vm'], rc = samples.runc;
  const lines = [
    `berth-vm accel: ${accel}; ${iterations} iterations, interleaved; idle PSS measured ${settleMs} ms after start`,
    '| measure | berth-vm (median) | runc (median) | ratio |',
    '|---|---:|---:|---:|',
    `| create to first output | ${median(vm.first).toFixed(0)} ms | ${median(rc.first).toFixed(0)} ms | ${(median(vm.first) / median(rc.first)).toFixed(1)}× |`,
    `| host PSS of an idle container | ${median(vm.pss).toFixed(1)} MiB | ${median(rc.pss).toFixed(2)} MiB | ${(median(vm.pss) / median(rc.pss)).toFixed(0)}× |`,
    ...perProcess(vm.procs),
    ...(compare ? [`| compare (${compare}): first output | ${median(samples.compare.first).toFixed(0)} ms | | |`, `| compare: host PSS | ${median(samples.compare.pss).toFixed(1)} MiB | | |`, ...perProcess(samples.compare.procs)] : []),
    `samples: berth-vm first ${vm.first.map((x) => x.toFixed(0)).join(' ')} ms, pss ${vm.pss.map((x) => x.toFixed(1)).join(' ')} MiB`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (args.includes('--json')) writeFileSync(args[args.indexOf('--json') + 1], JSON.stringify(samples, null, 2));
}

await main();
