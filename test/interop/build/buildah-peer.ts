// Debian's buildah as a peer for `berth build`'s front half: `buildah bud --layers` into a
// throw-away vfs store (its own --root and --runroot), then `buildah inspect` and the built rootfs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface BuildahConfig {
  Env?: string[];
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  User?: string;
  WorkingDir?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
  OnBuild?: string[] | null;
  Shell?: string[];
}

export interface BudResult {
  /** For each STEP after FROM, in order: whether buildah reused its cache. */
  cached: boolean[];
  output: string;
}

export class BuildahStore {
  readonly dir = mkdtempSync(join(tmpdir(), 'berth-interop-buildah-'));
  private readonly base = ['--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), '--storage-driver', 'vfs'];

  /** Writes files (path -> content) under a fresh context directory and returns it. */
  context(name: string, files: Record<string, string>): string {
    const ctx = join(this.dir, 'ctx', name);
    rmSync(ctx, { recursive: true, force: true });
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(ctx, path)), { recursive: true });
      writeFileSync(join(ctx, path), content);
    }
    return ctx;
  }

  buildah(args: string[]): string {
    return execFileSync('buildah', [...this.base, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  bud(ctx: string, tag: string, buildArgs: Record<string, string> = {}, opts: { target?: string; noCache?: boolean; extra?: string[] } = {}): BudResult {
    const args = ['bud', '--layers', '--format', 'docker', '-t', tag, '-f', join(ctx, 'Dockerfile'), ...(opts.extra ?? [])];
    if (opts.noCache) args.push('--no-cache');
    for (const [k, v] of Object.entries(buildArgs)) args.push('--build-arg', `${k}=${v}`);
    if (opts.target) args.push('--target', opts.target);
    const output = this.buildah([...args, ctx]);
    const cached: boolean[] = [];
    let inStep = false;
    for (const line of output.split('\n')) {
      const step = /^STEP \d+\/\d+: (\S+)/.exec(line);
      if (step) {
        inStep = step[1]!.toUpperCase() !== 'FROM';
        if (inStep) cached.push(false);
      } else if (inStep && line.startsWith('--> Using cache')) cached[cached.length - 1] = true;
    }
    return { cached, output };
  }

  inspect(tag: string): { config: BuildahConfig; author?: string } {
    const d = JSON.parse(this.buildah(['inspect', '--type', 'image', tag])) as { Docker: { config: BuildahConfig; author?: string } };
    return { config: d.Docker.config, ...(d.Docker.author ? { author: d.Docker.author } : {}) };
  }

  /** The image's root filesystem as a directory (vfs keeps layers as plain trees). */
  rootfs(tag: string): string {
    const ctr = this.buildah(['from', tag]).trim();
    return this.buildah(['mount', ctr]).trim();
  }

  remove(): void {
    try {
      this.buildah(['rm', '--all']);
    } catch {
      // nothing mounted or created
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
