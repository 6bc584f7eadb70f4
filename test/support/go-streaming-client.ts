// The Go streaming client of test/interop/streaming/go (moby/spdystream and gorilla/websocket from
// Debian's packaged sources), built offline at test time, and a way to run it.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../interop/streaming/go', import.meta.url));

/** Builds the client into `work`; returns its path. */
export function buildGoStreamingClient(work: string): string {
  const client = join(work, 'streaming-client');
  // Debian's golang-*-dev packages are GOPATH sources under /usr/share/gocode: build in GOPATH
  // mode, offline, with a cache of our own.
  execFileSync('go', ['build', '-o', client, '.'], {
    cwd: source,
    env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOPROXY: 'off', GOFLAGS: '', GOCACHE: join(work, 'cache') },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return client;
}

export interface GoRun { code: number; stdout: string; stderr: string }

export function runGoClient(client: string, args: string[], input = ''): Promise<GoRun> {
  return new Promise((resolve) => {
    const child = execFile(client, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}
