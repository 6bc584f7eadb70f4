// Runs bin/berthd for a test: its own temporary root, state, socket and config (never the host's
// defaults), waits until it serves, keeps its log lines, and stops it by its own pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { socketAnswers } from '../../src/cri/server/socket-listener.ts';
import { CriClient } from './cri-client.ts';

export const BERTHD = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/berthd');

export interface BerthdOptions {
  /** Extra TOML appended to the generated config (after root/state/listen/registries_config). */
  toml?: string;
  /** registries.conf text (written to the temp dir and named in the config). */
  registriesConf?: string;
  logLevel?: string;
  /** Reuse these paths (a second daemon on the same socket or store). */
  dir?: string;
  extraArgs?: string[];
}

export interface RunningBerthd {
  dir: string;
  root: string;
  state: string;
  socket: string;
  cniConfDir: string;
  configFile: string;
  child: ChildProcess;
  log: string[];
  client: CriClient;
  /** Resolves with the first log line matching `re` (log lines arrive after the RPC's answer). */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** The exit code, once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Removes the temporary directory (after stop). */
  cleanup(): void;
}

export interface BerthdExit {
  code: number | null;
  stderr: string;
}

export function berthdPaths(dir: string) {
  return {
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    socket: join(dir, 'berthd.sock'),
    cniConfDir: join(dir, 'net.d'),
    configFile: join(dir, 'berthd.toml'),
    registriesConf: join(dir, 'registries.conf'),
  };
}

function writeConfig(dir: string, opts: BerthdOptions): ReturnType<typeof berthdPaths> {
  const p = berthdPaths(dir);
  mkdirSync(p.cniConfDir, { recursive: true });
  writeFileSync(p.registriesConf, opts.registriesConf ?? 'unqualified-search-registries = []\n');
  writeFileSync(
    p.configFile,
    [
      `root = "${p.root}"`,
      `state = "${p.state}"`,
      `listen = "${p.socket}"`,
      `registries_config = "${p.registriesConf}"`,
      '[cni]',
      `conf_dir = "${p.cniConfDir}"`,
      opts.toml ?? '',
      '',
    ].join('\n'),
  );
  return p;
}

/** Runs berthd to its exit (for start-up failures); kills it after `timeoutMs`. */
export function runBerthdToExit(args: string[], timeoutMs = 15_000): Promise<BerthdExit> {
  return new Promise((done) => {
    const child = spawn(BERTHD, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stderr });
    });
  });
}

export async function startBerthd(opts: BerthdOptions = {}): Promise<RunningBerthd> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'berthd-test-'));
  const p = writeConfig(dir, opts);
  const child = spawn(BERTHD, ['--config', p.configFile, '--log-level', opts.logLevel ?? 'debug', ...(opts.extraArgs ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    log.push(...lines);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`berthd exited (${child.exitCode}) during start-up:\n${log.join('\n')}${partial}`);
    if (log.some((l) => l.includes('msg="berthd serving"')) && (await socketAnswers(p.socket, 500))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`berthd did not start:\n${log.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const client = new CriClient(p.socket);
  return {
    dir,
    ...p,
    child,
    log,
    client,
    exited,
    waitForLog: async (re, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = log.find((l) => re.test(l));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no berthd log line matches ${re}:\n${log.join('\n')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: async () => {
      client.close();
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    cleanup: () => {
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
