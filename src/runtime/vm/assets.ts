// The guest's kernel and initramfs. The kernel is the host's Debian cloud kernel
// (linux-image-cloud-amd64, /boot/vmlinuz-*); the initramfs is built here from it: the agent as
// /init, berth-spawn, and the modules the guest needs in load order. Nothing is downloaded.

import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError } from '../../oci/errors.ts';
import { spawnBinary } from '../../sys/berth-spawn.ts';
import { cpioArchive, type CpioEntry } from './cpio.ts';
import { GUEST_MODULES, moduleLoadOrder, moduleName } from './module-order.ts';

export interface VmAssets {
  kernel: string;
  release: string;
  initrd: string;
}

/** Where the built initramfs lives: $BERTH_VM_ASSETS, else native/build/berth-vm. */
export function assetsDir(): string {
  return process.env.BERTH_VM_ASSETS ?? join(dirname(spawnBinary()), 'berth-vm');
}

/** $BERTH_VM_KERNEL, else the newest /boot/vmlinuz-*-cloud-amd64. */
export function findGuestKernel(boot = '/boot'): { kernel: string; release: string } | undefined {
  const env = process.env.BERTH_VM_KERNEL;
  if (env) return { kernel: env, release: env.slice(env.lastIndexOf('vmlinuz-') + 8) };
  let names: string[];
  try {
    names = readdirSync(boot).filter((n) => /^vmlinuz-.*-cloud-amd64$/.test(n));
  } catch {
    return undefined;
  }
  const newest = names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
  return newest ? { kernel: join(boot, newest), release: newest.slice('vmlinuz-'.length) } : undefined;
}

export function initramfsEntries(release: string, agent: Uint8Array, spawn: Uint8Array, modulesRoot = '/lib/modules'): { entries: CpioEntry[]; modules: string[] } {
  const dir = join(modulesRoot, release);
  const order = moduleLoadOrder(GUEST_MODULES, readFileSync(join(dir, 'modules.dep'), 'utf8'), readFileSync(join(dir, 'modules.builtin'), 'utf8'));
  const entries: CpioEntry[] = [
    ...['dev', 'proc', 'sys', 'run', 'tmp', 'sbin', 'etc', 'etc/berth', 'lib', 'lib/modules'].map((path): CpioEntry => ({ type: 'dir', path })),
    // The kernel opens /dev/console for init's stdio before anything is mounted.
    { type: 'char', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
    { type: 'file', path: 'init', data: agent, mode: 0o755 },
    { type: 'file', path: 'sbin/berth-spawn', data: spawn, mode: 0o755 },
  ];
  const list: string[] = [];
  for (const rel of order.load) {
    const path = `lib/modules/${moduleName(rel)}.ko`;
    entries.push({ type: 'file', path, data: readFileSync(join(dir, rel)) });
    list.push(`/${path}`);
  }
  entries.push({ type: 'file', path: 'etc/berth/modules', data: Buffer.from(`${list.join('\n')}\n`) });
  return { entries, modules: order.load.map(moduleName) };
}

/** Builds initrd.img and manifest.json in the assets directory. */
export function buildAssets(out = assetsDir()): VmAssets & { modules: string[] } {
  const found = findGuestKernel();
  if (!found) throw new BerthError('not-found', 'no guest kernel: install linux-image-cloud-amd64 (or set BERTH_VM_KERNEL)', { path: '/boot' });
  const native = dirname(spawnBinary());
  const agent = readFileSync(join(native, 'berth-vm-agent'));
  const spawn = readFileSync(spawnBinary());
  const { entries, modules } = initramfsEntries(found.release, agent, spawn);
  mkdirSync(out, { recursive: true });
  const initrd = join(out, 'initrd.img');
  writeFileSync(`${initrd}.tmp`, cpioArchive(entries));
  renameSync(`${initrd}.tmp`, initrd);
  const assets = { ...found, initrd, modules };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(assets, null, 2)}\n`);
  return assets;
}

/** The built assets, or a clear error saying how to build them. */
export function loadAssets(dir = assetsDir()): VmAssets {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) throw new BerthError('not-found', `berth-vm's guest image is not built: run \`npm run build:vm\` (needs linux-image-cloud-amd64)`, { path: file });
  const m = JSON.parse(readFileSync(file, 'utf8')) as VmAssets;
  for (const p of [m.kernel, m.initrd]) if (!existsSync(p)) throw new BerthError('not-found', `berth-vm: ${p} is missing: run \`npm run build:vm\``, { path: p });
  return m;
}
