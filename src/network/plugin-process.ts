// Running one plugin executable: config on stdin, result on stdout, logs on stderr. Output is
// bounded and a timeout kills the plugin and anything it started (it runs in its own process
// group: plugins run IPAM plugins, iptables, ip).

import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PluginRun {
  path: string;
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  /** Most stdout kept; a plugin printing more is killed and the run fails. */
  maxOutputBytes: number;
  signal?: AbortSignal;
}

export interface PluginExit {
  stdout: string;
  /** The first 64 KiB of stderr. */
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why berth ended it, if it did. */
  killed?: 'timeout' | 'output' | 'aborted';
  durationMs: number;
}

const STDERR_KEPT = 64 * 1024;

/** Spawn failures (ENOENT, EACCES...) reject; everything the plugin itself does resolves. */
export async function runPluginProcess(run: PluginRun): Promise<PluginExit> {
  // A plugin binary being replaced (package upgrade) fails with ETXTBSY for a moment; libcni retries.
  for (let attempt = 0; ; attempt++) {
    try {
      return await runOnce(run);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ETXTBSY' || attempt >= 5) throw err;
      await sleep(200);
    }
  }
}

function runOnce(run: PluginRun): Promise<PluginExit> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(run.path, [], { env: run.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let killed: PluginExit['killed'];
    let spawned = false;

    const killGroup = (why: NonNullable<PluginExit['killed']>) => {
      killed ??= why;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => killGroup('timeout'), run.timeoutMs);
    const onAbort = () => killGroup('aborted');
    run.signal?.addEventListener('abort', onAbort, { once: true });
    if (run.signal?.aborted) onAbort();
    const done = () => {
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
    };

    child.on('spawn', () => (spawned = true));
    child.on('error', (err) => {
      done();
      if (!spawned) reject(err);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > run.maxOutputBytes) return killGroup('output');
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderrBytes < STDERR_KEPT) stderr.push(chunk.subarray(0, STDERR_KEPT - stderrBytes));
      stderrBytes += chunk.length;
    });
    child.stdin.on('error', () => {}); // a plugin may exit without reading its config
    child.stdin.end(run.stdin);
    child.on('close', (code, signal) => {
      done();
      if (!spawned) return;
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        code,
        signal,
        ...(killed ? { killed } : {}),
        durationMs: performance.now() - started,
      });
    });
  });
}
