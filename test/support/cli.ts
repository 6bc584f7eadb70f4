// Runs the built CLIs as a user would, and checks that nothing was left behind.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { processAlive } from '../../src/sys/proc.ts';
import { MARKER } from './bundle.ts';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const berthRuntimeBin = join(repoRoot, 'bin/berth-runtime');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

// Output goes to files, not pipes: a detached container inherits the runtime's stdio (as with
// runc), and a pipe it holds open would keep a reader waiting for EOF.
const outDir = mkdtempSync(join(tmpdir(), 'berth-test-out-'));
process.on('exit', () => rmSync(outDir, { recursive: true, force: true }));
let outSeq = 0;

export interface RunOptions {
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  stdinFile?: string;
  /** Added to the environment (which never has NODE_EXTRA_CA_CERTS). */
  env?: Record<string, string>;
}

export function runCli(bin: string, args: string[], opts: RunOptions = {}): RunResult {
  const n = outSeq++;
  const outFile = join(outDir, `${n}.out`);
  const errFile = join(outDir, `${n}.err`);
  const out = openSync(outFile, 'w');
  const err = openSync(errFile, 'w');
  try {
    const stdin = opts.stdinFile ? openSync(opts.stdinFile, 'r') : 'pipe';
    const r = spawnSync(bin, args, { cwd: opts.cwd, input: opts.stdinFile ? undefined : (opts.input ?? ''), stdio: [stdin, out, err], env: opts.env ? { ...env, ...opts.env } : env, timeout: opts.timeoutMs ?? 30_000 });
    if (typeof stdin === 'number') closeSync(stdin);
    return { code: r.status ?? (r.signal ? 128 : 255), stdout: readFileSync(outFile, 'utf8'), stderr: readFileSync(errFile, 'utf8') };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(outFile, { force: true });
    rmSync(errFile, { force: true });
  }
}

export function runCliAsync(bin: string, args: string[], opts: { cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code, signal) => resolveRun({ code: code ?? (signal ? 128 : 255), stdout, stderr }));
  });
}

/** A berth-runtime bound to its own temporary state root. */
export class RuntimeCli {
  readonly root = mkdtempSync(join(tmpdir(), 'berth-test-state-'));

  run(args: string[], opts: RunOptions = {}): RunResult {
    return runCli(berthRuntimeBin, ['--root', this.root, ...args], opts);
  }

  ok(args: string[], opts: { cwd?: string; input?: string } = {}): string {
    const r = this.run(args, opts);
    if (r.code !== 0) throw new Error(`berth-runtime ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  /** Removes every container this instance made, then its state root. */
  cleanup(): void {
    if (existsSync(this.root)) {
      for (const id of readdirSync(this.root)) this.run(['delete', '--force', id]);
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

function findDirs(dir: string, name: string, depth: number, out: string[]): void {
  if (depth < 0) return;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    if (e.name === name) out.push(p);
    findDirs(p, name, depth - 1, out);
  }
}

/** What a failed or deleted container might leave behind, for assertions. */
export function leftovers(rootfs: string, stateDir?: string, containerId?: string): string[] {
  const found: string[] = [];
  if (containerId) {
    const cgroups: string[] = [];
    findDirs('/sys/fs/cgroup', containerId, 5, cgroups);
    found.push(...cgroups.map((c) => `cgroup ${c}`));
  }
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of mountinfo.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && (mp === rootfs || mp.startsWith(`${rootfs}/`))) found.push(`mount ${mp}`);
  }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      // After pivot_root the root link reads "/": recognise the rootfs by its marker file.
      if (processAlive(Number(pid)) && readFileSync(`/proc/${pid}/root/${MARKER}`, 'utf8') === rootfs) found.push(`process ${pid}`);
    } catch {
      // gone or not ours
    }
  }
  if (stateDir && existsSync(stateDir)) found.push(`state ${stateDir}`);
  return found;
}

/** `berth --root ROOT ...` as a user runs it, and `ok`: the same, asserting success, its stdout. */
export function berthIn(root: () => string): { berth: (...args: string[]) => RunResult; ok: (...args: string[]) => string } {
  const bin = join(repoRoot, 'bin/berth');
  const berth = (...args: string[]): RunResult => runCli(bin, ['--root', root(), ...args]);
  const ok = (...args: string[]): string => {
    const r = berth(...args);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  return { berth, ok };
}

/**
 * After a test of `berth` on its own store under `work`: removes every container (`rm --force`),
 * unmounts whatever a failed test left mounted under `work`, and removes `work`.
 */
export function removeBerthStore(root: string, work: string): void {
  const containers = join(root, 'containers');
  for (const id of existsSync(containers) ? readdirSync(containers) : []) runCli(join(repoRoot, 'bin/berth'), ['--root', root, 'rm', '--force', id]);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(work)) spawnSync('umount', ['-l', mp]);
  }
  rmSync(work, { recursive: true, force: true });
}
