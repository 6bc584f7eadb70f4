// The cgroup v2 manager: one directory in the unified hierarchy (runc's fs2 manager).
import { setTimeout as delay } from 'node:timers/promises';
import { posix } from 'node:path';
import { BerthError, precondition } from '../../oci/errors.ts';
import type { Resources } from '../../oci/runtime-spec.ts';
import type { CgroupManager, CgroupManagerSettings, CgroupRemoval, FreezerState } from './cgroup-manager.ts';
import type { CgroupStats } from './cgroup-stats.ts';
import {
  addProcess, cgroupFileExists, deepestFirst, directoryExists, errnoOf, makeCgroupDirs, readCgroupFile, readCgroupFileIfExists,
  readProcs, removeCgroupDirs, removeEmptyParents, writeCgroupFile, writeCgroupFileRaw,
} from './cgroupfs.ts';
import type { CgroupManagerRecordV2 } from './manager-record.ts';
import { writePlan } from './plan-writer.ts';
import { planCgroupWrites, type PlanContext } from './resource-plan.ts';
import { parseFlatKeyed, parseUint } from './stats-parse.ts';
import { hugePageSizes } from './stats-v1.ts';
import { readStatsV2 } from './stats-v2.ts';

export class CgroupManagerV2 implements CgroupManager {
  readonly mode = 'v2' as const;
  private readonly record: CgroupManagerRecordV2;
  private readonly settings: CgroupManagerSettings;

  constructor(record: CgroupManagerRecordV2, settings: CgroupManagerSettings = {}) {
    this.record = structuredClone(record);
    this.settings = settings;
  }

  private get dir(): string {
    return this.record.path;
  }

  async create(): Promise<void> {
    const { mountpoint, path } = this.record;
    // Controllers are only available in a cgroup whose parent lists them in cgroup.subtree_control,
    // so enable them at every level above the container's cgroup, the root included.
    await enableControllers(mountpoint);
    const made = await makeCgroupDirs(mountpoint, path, async (dir) => {
      if (dir !== path) await enableControllers(dir);
    });
    const type = (await readCgroupFileIfExists(path, 'cgroup.type'))?.trim();
    if (type === 'domain invalid') {
      throw precondition(`cgroup ${path} is in the "domain invalid" state (a parent has processes of its own); choose another cgroupsPath`, {
        field: 'linux.cgroupsPath',
        path,
      });
    }
    const parents = made.filter((d) => d !== path);
    this.record.createdParents = [...new Set([...this.record.createdParents, ...parents])];
  }

  async apply(pid: number): Promise<void> {
    await addProcess(this.dir, pid);
  }

  async set(resources: Resources | undefined): Promise<string[]> {
    const ctx: PlanContext = {};
    if (resources?.blockIO) ctx.ioBfqWeight = await cgroupFileExists(this.dir, 'io.bfq.weight');
    if (resources?.memory?.checkBeforeUpdate) {
      const current = await readCgroupFileIfExists(this.dir, 'memory.current');
      if (current !== undefined) ctx.currentMemoryUsage = parseUint(current, `${this.dir}/memory.current`);
    }
    const plan = planCgroupWrites(resources, 'v2', ctx);
    await writePlan(plan, () => this.dir);
    if (plan.deviceProgram) {
      // Loaded on first use: bpf(2) goes through koffi, a native addon that a start-up snapshot cannot hold.
      const attach = this.settings.attachDeviceProgram ?? (await import('./device-program.ts')).attachDeviceProgram;
      await attach(this.dir, plan.deviceProgram);
    }
    return plan.warnings;
  }

  async freeze(): Promise<void> {
    const timeoutMs = this.settings.freezeTimeoutMs ?? 10_000;
    try {
      await writeCgroupFileRaw(this.dir, 'cgroup.freeze', '1');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        throw precondition(`cannot freeze ${this.dir}: the kernel has no cgroup v2 freezer (cgroup.freeze, Linux 5.2+)`, { path: this.dir });
      }
      throw err;
    }
    // cgroup.freeze is the request; cgroup.events "frozen 1" is the kernel saying it is done.
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; ; i++) {
      if (await this.frozen()) return;
      if (Date.now() > deadline) {
        await writeCgroupFile(this.dir, 'cgroup.freeze', '0');
        throw new BerthError('internal', `cgroup ${this.dir} did not freeze within ${timeoutMs} ms`, {
          path: posix.join(this.dir, 'cgroup.events'),
          op: 'freeze',
        });
      }
      await delay(i < 10 ? 1 : 10);
    }
  }

  private async frozen(): Promise<boolean> {
    const events = parseFlatKeyed(await readCgroupFile(this.dir, 'cgroup.events'), `${this.dir}/cgroup.events`);
    return events.frozen === 1n;
  }

  async thaw(): Promise<void> {
    await writeCgroupFile(this.dir, 'cgroup.freeze', '0');
  }

  async state(): Promise<FreezerState> {
    const wanted = await readCgroupFileIfExists(this.dir, 'cgroup.freeze');
    if (wanted === undefined || wanted.trim() === '0') return 'running';
    return (await this.frozen()) ? 'paused' : 'pausing';
  }

  async pids(recursive = false): Promise<number[]> {
    return readProcs(this.dir, recursive);
  }

  async stats(): Promise<CgroupStats> {
    return readStatsV2(this.dir, await hugePageSizes(this.settings.hugepagesDir));
  }

  async oomKillCount(): Promise<bigint> {
    const events = parseFlatKeyed(await readCgroupFile(this.dir, 'memory.events'), `${this.dir}/memory.events`);
    return events.oom_kill ?? 0n;
  }

  async exists(): Promise<boolean> {
    return directoryExists(this.dir);
  }

  async destroy(): Promise<void> {
    const { dirs, parents } = this.removal();
    await removeCgroupDirs(dirs);
    await removeEmptyParents(parents);
  }

  removal(): CgroupRemoval {
    return { procsDir: this.dir, dirs: [this.dir], parents: deepestFirst(this.record.createdParents) };
  }

  paths(): Record<string, string> {
    return { unified: this.dir };
  }

  toJSON(): CgroupManagerRecordV2 {
    return structuredClone(this.record);
  }
}

/** Writes "+c1 +c2 ..." of the available controllers into cgroup.subtree_control (one by one if that fails). */
async function enableControllers(dir: string): Promise<void> {
  const available = await readCgroupFileIfExists(dir, 'cgroup.controllers');
  const names = available?.trim().split(/\s+/).filter(Boolean) ?? [];
  if (names.length === 0) return;
  try {
    await writeCgroupFileRaw(dir, 'cgroup.subtree_control', names.map((n) => `+${n}`).join(' '));
  } catch {
    // Some controllers may be unavailable to us (delegation, threaded mode); a later write of a
    // limit that needs one fails with a message that names it.
    for (const n of names) await writeCgroupFileRaw(dir, 'cgroup.subtree_control', `+${n}`).catch(() => {});
  }
}
