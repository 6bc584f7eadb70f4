// Test bundles: a busybox-static rootfs and a config.json from the default spec.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSpec } from '../../src/runtime/default-spec.ts';
import type { Spec } from '../../src/oci/runtime-spec.ts';

let applets: string[] | undefined;

export function busyboxPath(): string {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(p)) return p;
  throw new Error('busybox-static is not installed');
}

export function makeRootfs(rootfs: string): void {
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  for (const d of ['etc', 'tmp', 'root', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  copyFileSync(busyboxPath(), join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  applets ??= execFileSync(busyboxPath(), ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(join(rootfs, MARKER), rootfs);
}

/** A file in every test rootfs naming it: finds processes still running in a rootfs. */
export const MARKER = '.berth-test-rootfs';

export interface TestBundle {
  dir: string;
  rootfs: string;
  spec: Spec;
  write(): void;
  cleanup(): void;
}

/** A bundle in a fresh temp dir running `args`, with terminal off; mutate adjusts the spec. */
export function makeBundle(args: string[], mutate: (s: Spec) => void = () => {}): TestBundle {
  const dir = mkdtempSync(join(tmpdir(), 'berth-test-bundle-'));
  chmodSync(dir, 0o755); // a user-namespaced root (an unprivileged id outside) must reach the rootfs
  const rootfs = join(dir, 'rootfs');
  makeRootfs(rootfs);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = args;
  mutate(spec);
  const bundle: TestBundle = {
    dir,
    rootfs,
    spec,
    write: () => writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  bundle.write();
  return bundle;
}

export function readSpec(dir: string): Spec {
  return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
}
