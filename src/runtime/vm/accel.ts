// kvm or tcg. `accel = "auto" | "kvm" | "tcg"` in berth-vm's config file ($BERTH_VM_CONFIG, else
// /etc/berth/vm.toml), $BERTH_VM_ACCEL over it. "auto" boots the guest once under KVM in probe
// mode (the agent prints a marker and powers off) with a timeout, and caches the answer next to
// the guest image: a /dev/kvm may exist and still not run this guest (a nested provider on which
// the kernel hangs), so only a boot that finishes counts.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { invalid } from '../../oci/errors.ts';
import type { VmAssets } from './assets.ts';
import { qemuArgs, QEMU, type Accel } from './qemu-args.ts';

export type AccelSetting = Accel | 'auto';

export const DEFAULT_CONFIG = '/etc/berth/vm.toml';
export const PROBE_TIMEOUT_MS = 15_000;
const PROBE_MARKER = 'berth-vm-probe-ok';

export interface VmConfig {
  accel: AccelSetting;
}

export function parseAccel(value: unknown, where: string): AccelSetting {
  if (value === 'auto' || value === 'kvm' || value === 'tcg') return value;
  throw invalid(`${where}: accel "${String(value)}" is not auto, kvm or tcg`, { field: 'accel' });
}

export function readVmConfig(env: NodeJS.ProcessEnv = process.env): VmConfig {
  const file = env.BERTH_VM_CONFIG ?? DEFAULT_CONFIG;
  let accel: AccelSetting = 'auto';
  if (existsSync(file)) {
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw invalid(`${file}: not valid TOML: ${(err as Error).message}`, { path: file });
    }
    if (doc.accel !== undefined) accel = parseAccel(doc.accel, file);
  }
  if (env.BERTH_VM_ACCEL) accel = parseAccel(env.BERTH_VM_ACCEL, 'BERTH_VM_ACCEL');
  return { accel };
}

interface ProbeCache {
  accel: Accel;
  kernel: string;
  /** The QEMU binary's mtime: a new QEMU is probed again. */
  qemuMtime: number;
  probedAt: string;
  detail: string;
}

/** Boots the guest under KVM in probe mode; true if it printed its marker in time. */
export async function probeKvm(assets: VmAssets, timeoutMs = PROBE_TIMEOUT_MS): Promise<{ ok: boolean; detail: string }> {
  if (!existsSync('/dev/kvm')) return { ok: false, detail: 'no /dev/kvm' };
  const [bin, ...args] = qemuArgs({ name: 'probe', accel: 'kvm', memoryMiB: 128, cpus: 1, kernel: assets.kernel, initrd: assets.initrd, cmdline: ['berth.probe'], share: false, control: false });
  const child = spawn(bin!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const started = Date.now();
  return await new Promise((resolve) => {
    const finish = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => finish(false, `no answer from the guest under KVM within ${timeoutMs} ms`), timeoutMs);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (out.includes(PROBE_MARKER)) finish(true, `the guest booted under KVM in ${Date.now() - started} ms`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => finish(out.includes(PROBE_MARKER), out.includes(PROBE_MARKER) ? 'booted' : `QEMU exited under KVM: ${out.trim().split('\n').slice(-2).join(' ')}`));
  });
}

/** The accelerator to use: the setting, or for "auto" the cached (or a fresh) probe. */
export async function resolveAccel(setting: AccelSetting, assets: VmAssets, cacheDir: string): Promise<{ accel: Accel; detail: string }> {
  if (setting !== 'auto') return { accel: setting, detail: 'configured' };
  const file = join(cacheDir, 'accel.json');
  const qemuMtime = existsSync(QEMU) ? statSync(QEMU).mtimeMs : 0;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as ProbeCache;
    if (c.kernel === assets.kernel && c.qemuMtime === qemuMtime && (c.accel === 'kvm' || c.accel === 'tcg')) return { accel: c.accel, detail: `cached: ${c.detail}` };
  } catch {
    // no cache yet
  }
  const probe = await probeKvm(assets);
  const cache: ProbeCache = { accel: probe.ok ? 'kvm' : 'tcg', kernel: assets.kernel, qemuMtime, probedAt: new Date().toISOString(), detail: probe.detail };
  try {
    writeFileSync(file, `${JSON.stringify(cache, null, 2)}\n`);
  } catch {
    // a read-only assets directory: probe again next time
  }
  return { accel: cache.accel, detail: probe.detail };
}
