// Typed access to the plain-JS helpers in bench/lib/, which the .mjs benchmarks share. The
// specifiers are variables so that TypeScript does not look for declaration files.
export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

export interface CommandRunner {
  /** Wall time of `file args...` in ms (stdin and stdout /dev/null, stderr a file); throws if it fails. */
  time(file: string, args: string[], opts?: { expect?: number; env?: NodeJS.ProcessEnv }): number;
  close(): void;
}

interface StatsLib {
  summarize(values: number[]): Summary;
  formatTable(header: string[], rows: string[][]): string;
  ratio(a: number, b: number): string;
}

interface TimedSpawnLib {
  cleanEnv(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  CommandRunner: new (stderrPath: string, env?: NodeJS.ProcessEnv) => CommandRunner;
}

const statsModule = '../lib/stats.mjs';
const timedSpawnModule = '../lib/timed-spawn.mjs';
export const stats = (await import(statsModule)) as StatsLib;
export const timedSpawn = (await import(timedSpawnModule)) as TimedSpawnLib;
