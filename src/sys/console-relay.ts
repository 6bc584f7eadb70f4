// A foreground terminal for `run -t` / `exec -t` without --console-socket: berth-spawn
// --console-relay receives the pty master and copies it to and from our stdio.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../oci/errors.ts';
import { releasePreSpawned, spawnBinary } from './berth-spawn.ts';

export interface ConsoleRelay {
  socketPath: string;
  child: ChildProcess;
  /** Resolves when the relay has copied everything (the container closed the terminal). */
  done: Promise<void>;
  close(): void;
}

/** With `stdin: false` nothing is typed into the terminal (the relay's stdin is /dev/null). */
export async function startConsoleRelay(opts: { stdin?: boolean } = {}): Promise<ConsoleRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-console-'));
  const socketPath = join(dir, 'console.sock');
  releasePreSpawned(); // the relay must not inherit its channel
  const child = spawn(spawnBinary(), ['--console-relay', socketPath], { stdio: [opts.stdin === false ? 'ignore' : 'inherit', 'inherit', 'inherit'] });
  const done = new Promise<void>((res) => child.once('exit', () => res()));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  done.then(cleanup, cleanup);
  const deadline = Date.now() + 5000;
  while (!existsSync(socketPath)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new BerthError('internal', 'the console relay did not start', { path: socketPath });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return { socketPath, child, done, close: () => child.kill('SIGTERM') };
}
