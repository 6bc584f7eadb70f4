// A docker-registry on 127.0.0.1 holding the sandbox (pause) and workload images that CRI peers
// pull under public-looking names through a mirror (no internet here): containerd through its
// registry hosts directory (hosts.toml), berthd through registries.conf.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skopeoCopy, startRegistry, type TestRegistry } from '../fixtures/image/registry.ts';
import { writeOciLayout } from '../fixtures/image/test-image.ts';
import { pauseImage, workloadImage } from './pause-image.ts';

/** The names the clients ask for; each name's registry is mirrored to the local one. */
export const SANDBOX_IMAGE = 'registry.k8s.io/pause:3.9';
export const WORKLOAD_IMAGE = 'registry.berth.test/busybox:1';
const MIRRORED = ['registry.k8s.io', 'registry.berth.test'];

export interface CriRegistry {
  registry: TestRegistry;
  sandboxImage: string;
  workloadImage: string;
  /** containers-registries.conf(5) text for berthd. */
  registriesConf: string;
  /** Writes containerd's `config_path` tree (`<dir>/<registry>/hosts.toml`) and returns `dir`. */
  writeContainerdHosts(dir: string): string;
  stop(): Promise<void>;
}

export async function startCriRegistry(): Promise<CriRegistry> {
  const registry = await startRegistry();
  const work = mkdtempSync(join(tmpdir(), 'berth-cri-images-'));
  try {
    for (const [ref, img] of [[SANDBOX_IMAGE, pauseImage()], [WORKLOAD_IMAGE, workloadImage()]] as const) {
      const path = ref.slice(ref.indexOf('/') + 1);
      writeOciLayout(img, join(work, 'layout'), 'v');
      skopeoCopy(`oci:${join(work, 'layout')}:v`, `docker://${registry.host}/${path}`, ['--preserve-digests']);
      rmSync(join(work, 'layout'), { recursive: true, force: true });
    }
  } catch (err) {
    await registry.stop();
    throw err;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return {
    registry,
    sandboxImage: SANDBOX_IMAGE,
    workloadImage: WORKLOAD_IMAGE,
    registriesConf: MIRRORED.map((prefix) => `[[registry]]\nprefix = "${prefix}"\nlocation = "${registry.host}"\ninsecure = true\n`).join('\n'),
    writeContainerdHosts: (dir) => {
      for (const name of MIRRORED) {
        mkdirSync(join(dir, name), { recursive: true });
        writeFileSync(
          join(dir, name, 'hosts.toml'),
          `server = "http://${registry.host}"\n\n[host."http://${registry.host}"]\n  capabilities = ["pull", "resolve"]\n`,
        );
      }
      return dir;
    },
    stop: () => registry.stop(),
  };
}

export interface CriTestWorld {
  images: CriRegistry;
  /** A temporary directory for the pods' log_directory. */
  logs: string;
}

/**
 * For a node:test file: starts the registry and a log directory before its tests and removes both
 * after them. Read the fields inside tests (they are set once `before` has run).
 */
export function useCriTestWorld(hooks: { before: (fn: () => Promise<void>) => void; after: (fn: () => Promise<void>) => void }): CriTestWorld {
  const world = {} as CriTestWorld;
  hooks.before(async () => {
    world.images = await startCriRegistry();
    world.logs = mkdtempSync(join(tmpdir(), 'berth-cri-logs-'));
  });
  hooks.after(async () => {
    await world.images?.stop();
    if (world.logs) rmSync(world.logs, { recursive: true, force: true });
  });
  return world;
}
