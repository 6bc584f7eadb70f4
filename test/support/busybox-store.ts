// A berth store in a temporary directory with a busybox image imported, for tests that run the
// berth CLI against real containers; `cleanup` removes every container, mount and file it made.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli, type RunResult } from './cli.ts';

export const berthBin = join(repoRoot, 'bin/berth');

export interface BusyboxStore {
  work: string;
  root: string;
  berth: (...args: string[]) => RunResult;
  /** Runs berth, asserting it exits 0; its stdout. */
  ok: (...args: string[]) => string;
  cleanup: () => void;
}

export function busyboxStore(prefix: string, image: string): BusyboxStore {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const root = join(work, 'store');
  const berth = (...args: string[]): RunResult => runCli(berthBin, ['--root', root, ...args]);
  const ok = (...args: string[]): string => {
    const r = berth(...args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const cleanup = (): void => {
    const containers = join(root, 'containers');
    for (const id of existsSync(containers) ? readdirSync(containers) : []) berth('rm', '--force', id);
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = line.split(' ')[4];
      if (mp?.startsWith(work)) execFileSync('umount', ['-l', mp]);
    }
    rmSync(work, { recursive: true, force: true });
  };
  execFileSync(join(repoRoot, 'scripts/make-busybox-rootfs.sh'), [join(work, 'bb.tar.gz')]);
  ok('import', '-c', 'ENV PATH=/bin', join(work, 'bb.tar.gz'), image);
  return { work, root, berth, ok, cleanup };
}
